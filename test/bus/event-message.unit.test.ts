import { expect } from 'chai';
import fc from 'fast-check';
import { fromKafkaMessage, toKafkaMessage } from '../../src/bus/kafka';
import { computeEventHash, type PendingEvent, type RecordedEvent } from '../../src/core/envelope';
import vectors from '../vectors/event-hash.json';

/** A TaskSubmitted event's content (no hash yet), with the given data and fields over it. */
function content<T extends Record<string, unknown>>(data: T, over: Record<string, unknown> = {}) {
  return {
    id: '01937a6e-7f00-7000-8000-000000000001',
    type: 'TaskSubmitted',
    version: 1,
    stream: 'task-01937a6e-7f00-7000-8000-0000000000aa',
    occurredAt: '2026-11-22T10:00:00.000Z',
    tenant: 'acme',
    actor: { kind: 'user', id: 'alice' },
    ...over,
    data,
  } as const;
}

/** Text with what a hashing slip would trip on: lone surrogates, pairs, control characters, keys such as __proto__. */
const text = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', '\ud800', '\udfff', '\ud83d\ude00', '\u2028', '\u0000', 'é', 'e\u0301', ''),
);
/** Every JSON value an event's data may hold (DESIGN.md: numbers are safe integers). */
const { data } = fc.letrec<{ value: unknown; data: Record<string, unknown> }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -0, 0),
    text,
    fc.array(tie('value'), { maxLength: 4 }),
    tie('data'),
  ),
  data: fc.dictionary(text, tie('value'), { maxKeys: 5 }).map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>),
}));

describe('fromKafkaMessage', () => {
  it('hands on every reference vector (shared/vectors/event-hash.json) as the relay publishes it: never skipped', () => {
    for (const [i, c] of (vectors.cases as { event: Omit<PendingEvent, 'hash'>; hash: string }[]).entries()) {
      const event = { ...c.event, hash: c.hash, revision: i, position: 40 + i } as RecordedEvent;
      const read = fromKafkaMessage(Buffer.from(toKafkaMessage(event).value as string, 'utf8'), `t/0@${i}`);
      expect(read, `case ${i}`).to.deep.equal(JSON.parse(JSON.stringify(event)));
    }
  });

  it('hands on any genuine event, whatever its data holds (lone surrogates, __proto__ keys, the largest safe integers, any Unicode): a hashing slip would skip genuine events', () => {
    fc.assert(
      fc.property(data, text, fc.option(text.filter((t) => t.length > 0 && t.length <= 200), { nil: undefined }), (d, tenant, correlationId) => {
        const c = content(d, {
          tenant: tenant.length > 0 && tenant.length <= 100 ? tenant : 'acme',
          actor: { kind: 'agent', id: 'a1' },
          ...(correlationId !== undefined ? { correlationId } : {}),
        });
        // As the store hands it to the relay: parsed from its JSON (own __proto__ keys and all).
        const event = JSON.parse(JSON.stringify({ ...c, hash: computeEventHash(c), revision: 3, position: 7 })) as RecordedEvent;
        const read = fromKafkaMessage(Buffer.from(toKafkaMessage(event).value as string, 'utf8'), 't/0@0');
        expect(read).to.deep.equal(event);
        expect(Object.keys(read.data)).to.deep.equal(Object.keys(event.data));
      }),
      { numRuns: 300 },
    );
  });

  it('hands on the envelope as received: a data key named __proto__ (an own key in JSON) is kept, so its hash still matches', () => {
    // zod's record parser assigns each key to a new object, and assigning `__proto__` sets the
    // prototype instead: the key was dropped, and the event read as other content than was hashed.
    const c = content(JSON.parse('{"__proto__":{"polluted":true},"note":"x"}') as Record<string, unknown>);
    const event = { ...c, hash: computeEventHash(c), revision: 0, position: 0 } as RecordedEvent;
    const value = Buffer.from(toKafkaMessage(event).value as string, 'utf8');
    const read = fromKafkaMessage(value, 't/0@0');
    expect(Object.keys(read.data)).to.deep.equal(['__proto__', 'note']);
    expect(computeEventHash(read)).to.equal(event.hash);
    expect(({} as { polluted?: boolean }).polluted).to.equal(undefined);
  });

  it('names the event a copy with a hash that does not match claims to be (id, stream#revision, position), so the operator can tell whether its position was repaired from the event store', () => {
    const c = content({ note: 'x' });
    const event = { ...c, hash: computeEventHash(c), revision: 2, position: 41 } as RecordedEvent;
    const forged = { ...event, tenant: 'globex' };
    let err: (Error & { details?: unknown }) | undefined;
    try {
      fromKafkaMessage(Buffer.from(toKafkaMessage(forged).value as string, 'utf8'), 't/0@5');
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.equal(
      `t/0@5: not an event envelope: event ${event.id} (${event.stream}#2, position 41): its hash ${event.hash} does not match its content (${computeEventHash(forged)})`,
    );
    expect(err?.details).to.deep.equal({ where: 't/0@5', id: event.id, stream: event.stream, revision: 2, position: 41 });
  });

  it('refuses an envelope whose content has no canonical form (a float in data, which OpenMCP never builds) as KAFKA_MESSAGE_INVALID, naming the field', () => {
    const value = Buffer.from(
      '{"id":"01937a6e-7f00-7000-8000-000000000001","type":"TaskSubmitted","version":1,"stream":"task-1","occurredAt":"2026-11-22T10:00:00.000Z",' +
        `"tenant":"acme","actor":{"kind":"user","id":"a"},"data":{"n":1.5},"hash":"0x${'1'.repeat(64)}","revision":0,"position":0}`,
    );
    expect(() => fromKafkaMessage(value, 't/0@3'))
      .to.throw('t/0@3: not an event envelope: event 01937a6e-7f00-7000-8000-000000000001 (task-1#0, position 0): its content has no canonical form, so no hash: $.data.n: numbers must be safe integers (use a string for 1.5)')
      .with.property('code', 'KAFKA_MESSAGE_INVALID');
  });
});
