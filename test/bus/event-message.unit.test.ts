import { expect } from 'chai';
import { fromKafkaMessage, toKafkaMessage } from '../../src/bus/kafka';
import { computeEventHash, type RecordedEvent } from '../../src/core/envelope';

describe('fromKafkaMessage', () => {
  it('hands on the envelope as received: a data key named __proto__ (an own key in JSON) is kept, so its hash still matches', () => {
    // zod's record parser assigns each key to a new object, and assigning `__proto__` sets the
    // prototype instead: the key was dropped, and the event read as other content than was hashed.
    const content = {
      id: '01937a6e-7f00-7000-8000-000000000001',
      type: 'TaskSubmitted',
      version: 1,
      stream: 'task-01937a6e-7f00-7000-8000-0000000000aa',
      occurredAt: '2026-11-22T10:00:00.000Z',
      tenant: 'acme',
      actor: { kind: 'user', id: 'alice' },
      data: JSON.parse('{"__proto__":{"polluted":true},"note":"x"}') as Record<string, unknown>,
    } as const;
    const event = { ...content, hash: computeEventHash(content), revision: 0, position: 0 } as RecordedEvent;
    const value = Buffer.from(toKafkaMessage(event).value as string, 'utf8');
    const read = fromKafkaMessage(value, 't/0@0');
    expect(Object.keys(read.data)).to.deep.equal(['__proto__', 'note']);
    expect(computeEventHash(read)).to.equal(event.hash);
    expect(({} as { polluted?: boolean }).polluted).to.equal(undefined);
  });

  it('refuses an envelope whose content has no canonical form (a float in data, which the store never holds) as KAFKA_MESSAGE_INVALID, naming the field', () => {
    const value = Buffer.from(
      '{"id":"01937a6e-7f00-7000-8000-000000000001","type":"TaskSubmitted","version":1,"stream":"task-1","occurredAt":"2026-11-22T10:00:00.000Z",' +
        `"tenant":"acme","actor":{"kind":"user","id":"a"},"data":{"n":1.5},"hash":"0x${'1'.repeat(64)}","revision":0,"position":0}`,
    );
    expect(() => fromKafkaMessage(value, 't/0@3'))
      .to.throw('t/0@3: not an event envelope: its content has no canonical form, so no hash: $.data.n: numbers must be safe integers (use a string for 1.5)')
      .with.property('code', 'KAFKA_MESSAGE_INVALID');
  });
});
