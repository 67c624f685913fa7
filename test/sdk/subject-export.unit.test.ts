import { expect } from 'chai';
import type { OpenMcpClient } from '../../src/sdk/client';
import { RateLimitedApiError } from '../../src/sdk/errors';
import { exportSubject } from '../../src/sdk/subject-export';

const event = (position: number, stream: string, actorId: string, data: Record<string, unknown> = {}) => ({
  id: `e${position}`, type: 'ToolCallRequested', version: 2, stream, revision: 0, position, occurredAt: '2026-12-07T00:00:00.000Z',
  tenant: 'acme', actor: { kind: 'agent', id: actorId }, data, hash: `0x${'0'.repeat(64)}`,
});

describe('exportSubject', () => {
  it('waits out 429s past the SDK\'s own retries (Retry-After) and asks again, so a busy subject\'s export does not stop halfway', async () => {
    let refusals = 2;
    const waits: number[] = [];
    const client = {
      subjects: { show: async () => ({ subject: 'acme:agent:a1', keys: [{ kid: 'k1', createdAt: '2026-12-07T00:00:00.000Z' }] }) },
      events: {
        async *all() {
          yield event(1, 'toolcall-c1', 'a1');
          yield event(2, 'toolcall-c2', 'worker', { argumentsSealed: { alg: 'A256GCM', kid: 'k1', iv: '0x00', ct: '0x00', tag: '0x00' } });
          yield event(3, 'toolcall-c3', 'someone-else');
        },
      },
      tasks: { get: async () => { throw new Error('no tasks here'); }, async *allEvents() {} },
      toolCalls: {
        get: async (id: string) => {
          if (refusals-- > 0) throw new RateLimitedApiError({ type: 'about:blank', title: 'Too Many Requests', status: 429, code: 'RATE_LIMITED', retryAfterSeconds: 7 });
          return { id };
        },
      },
    } as unknown as OpenMcpClient;
    const x = await exportSubject(client, 'acme:agent:a1', { sleep: async (ms) => void waits.push(ms), now: () => new Date('2026-12-07T01:00:00.000Z') });
    expect(waits).to.deep.equal([7000, 7000]);
    expect(x.toolCalls).to.deep.equal([{ id: 'c1' }, { id: 'c2' }]);
    expect(x.events.map((e) => e.id)).to.deep.equal(['e1', 'e2']);
    expect(x.exportedAt).to.equal('2026-12-07T01:00:00.000Z');
  });
});
