import { expect } from 'chai';
import { z } from 'zod';
import type { Cache } from '../../src/cache/port';
import { MemoryCache } from '../../src/cache/memory';
import { requestLog } from '../../src/telemetry/request-log';
import { makeHarness, type Harness } from './support/harness';

/** An in-memory cache that refuses every command while `down` (Redis unreachable). */
function switchableCache(): { cache: Cache; down: boolean } {
  const s = { down: false, cache: undefined as unknown as Cache };
  const mem = new MemoryCache();
  s.cache = new Proxy(mem, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || prop === 'close') return v;
      return (...args: unknown[]) => (s.down ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })) : (v as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return s;
}

type Line = Record<string, unknown> & { msg?: string; reqId?: string };

/**
 * docs/security.md: the request id is "logged with every line" of the request. The warnings a
 * dependency outage raises under a request (the rate-limit counters or the read cache
 * unreachable) came from the process-wide logger, without the reqId, so they could not be tied to
 * the request that met the outage.
 */
describe('REST: log lines of a request carry its reqId, outage warnings included', () => {
  let h: Harness;
  const s = switchableCache();

  before(async () => {
    h = await makeHarness({ cache: s.cache }, { cacheSkipMs: 60_000 });
  });
  after(() => h.close());

  const lines = (): Line[] => h.logs.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

  it('a GET that meets Redis down: "rate-limit counters unreachable" and "read cache unreachable" name its reqId, tenant and subject', async () => {
    const key = await h.key('viewer', 'acme');
    const op = await h.key('operator', 'acme');
    const task = await h.call({ method: 'POST', url: '/v1/tasks', auth: op.auth, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'x' } }] } });
    expect(task.statusCode).to.equal(202);
    s.down = true;
    h.logs.length = 0;
    const res = await h.call({ method: 'GET', url: `/v1/tasks/${task.json().id}`, auth: key.auth, headers: { 'x-request-id': 'outage-1' } });
    expect(res.statusCode, res.body).to.equal(200);
    const warn = (msg: RegExp) => lines().find((l) => msg.test(String(l.msg)));
    expect(warn(/^rate-limit counters unreachable/), 'rate-limit warning').to.include({ reqId: 'outage-1' });
    expect(warn(/^read cache unreachable/), 'read cache warning').to.include({ reqId: 'outage-1', tenant: 'acme', subject: key.id });
  });

  it('a route that reads a body: its handler is in the request\'s context too (the body comes in the socket\'s callbacks)', async () => {
    const h2 = await makeHarness();
    try {
      const process = h2.deps.logger as never;
      h2.app.post('/test/log-in-handler', { config: { permission: 'tasks:write' }, schema: { body: z.object({ text: z.string() }) } }, async () => {
        await new Promise((r) => setImmediate(r));
        requestLog(process).warn('told through a process-wide callback');
        return { ok: true };
      });
      const key = await h2.key('operator', 'acme');
      // Over a socket (inject hands the body over at once): the body comes in chunks, after onRequest.
      const base = await h2.app.listen({ host: '127.0.0.1', port: 0 });
      const res = await fetch(`${base}/test/log-in-handler`, { method: 'POST', headers: { authorization: key.auth, 'x-request-id': 'outage-2', 'content-type': 'application/json' }, body: JSON.stringify({ text: 'x'.repeat(200_000) }) });
      expect(res.status, await res.text()).to.equal(200);
      const all = h2.logs.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
      expect(all.find((l) => l.msg === 'told through a process-wide callback')).to.include({ reqId: 'outage-2', tenant: 'acme', subject: key.id });
    } finally {
      await h2.close();
    }
  });

  it('a line outside any request (the fallback) carries no reqId', async () => {
    h.logs.length = 0;
    requestLog(h.deps.logger as never).warn('outside');
    expect(lines().find((l) => l.msg === 'outside')).to.not.have.property('reqId');
  });
});
