import { expect } from 'chai';
import { makeHarness, type Harness } from './support/harness';

const STEP = { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] };

describe('REST /v1/events, proofs and batches', () => {
  let h: Harness;
  let k: Record<string, string>;
  let acmeTask: string;
  let acmeEvent: string;

  before(async () => {
    h = await makeHarness();
    k = {
      admin: (await h.key('admin', 'acme')).auth,
      operator: (await h.key('operator', 'acme')).auth,
      agent: (await h.key('agent', 'acme')).auth,
      auditor: (await h.key('auditor', 'acme')).auth,
      viewer: (await h.key('viewer', 'acme')).auth,
      betaAuditor: (await h.key('auditor', 'beta')).auth,
      global: (await h.key('auditor', 'ops', true)).auth,
    };
    acmeTask = (await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: STEP })).json().id;
    await h.call({ method: 'POST', url: '/v1/tasks', auth: (await h.key('agent', 'beta')).auth, payload: STEP });
    for (let i = 0; i < 3; i++) await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: STEP });
    acmeEvent = (await h.store.readStream(`task-${acmeTask}`))[0].id;
  });
  after(() => h.close());

  const get = (url: string, auth?: string) => h.call({ method: 'GET', url, auth });

  describe('GET /v1/events', () => {
    it("lists the tenant's events in position order and pages with a cursor", async () => {
      const p1 = (await get('/v1/events?limit=2', k.auditor)).json();
      expect(p1.items).to.have.length(2);
      expect(p1.items.every((e: { tenant: string }) => e.tenant === 'acme')).to.equal(true);
      const p2 = (await get(`/v1/events?limit=2&cursor=${p1.nextCursor}`, k.auditor)).json();
      expect(p2.items[0].position).to.be.greaterThan(p1.items[1].position);
      const all = (await get('/v1/events?limit=1000', k.auditor)).json();
      expect(all.items).to.have.length(4);
      expect(all.nextCursor, 'no cursor to an empty page').to.equal(undefined);
      // A page exactly as long as what is left is the last one too.
      const exact = (await get('/v1/events?limit=4', k.auditor)).json();
      expect([exact.items.length, exact.nextCursor]).to.deep.equal([4, undefined]);
    });

    it('filters by stream and type; cross-tenant auditors see every tenant', async () => {
      const byStream = (await get(`/v1/events?stream=task-${acmeTask}`, k.auditor)).json().items;
      expect(byStream.map((e: { id: string }) => e.id)).to.deep.equal([acmeEvent]);
      const byType = (await get('/v1/events?type=TaskSubmitted&limit=1000', k.global)).json().items;
      expect(new Set(byType.map((e: { tenant: string }) => e.tenant))).to.deep.equal(new Set(['acme', 'beta']));
      const beta = (await get(`/v1/events?stream=task-${acmeTask}`, k.betaAuditor)).json().items;
      expect(beta).to.deep.equal([]);
    });

    it('after and cursor together are 400 naming querystring.after (the cursor won silently, after was ignored), on a task\'s events too', async () => {
      const p1 = (await get('/v1/events?limit=1', k.auditor)).json();
      const both = await get(`/v1/events?limit=1&after=0&cursor=${p1.nextCursor}`, k.auditor);
      expect(both.statusCode).to.equal(400);
      expect(both.json()).to.include({ code: 'VALIDATION_FAILED', field: 'querystring.after' });
      const t1 = (await get(`/v1/tasks/${acmeTask}/events?limit=1`, k.auditor)).json();
      const taskBoth = await get(`/v1/tasks/${acmeTask}/events?limit=1&after=0&cursor=${t1.nextCursor}`, k.auditor);
      expect(taskBoth.statusCode).to.equal(400);
      expect(taskBoth.json()).to.include({ code: 'VALIDATION_FAILED', field: 'querystring.after' });
      expect((await get(`/v1/events?limit=1&cursor=${p1.nextCursor}`, k.auditor)).statusCode).to.equal(200);
      expect((await get('/v1/events?limit=1&after=0', k.auditor)).statusCode).to.equal(200);
    });

    it('400 for bad filters and cursors; 403 for viewer and agent; 401 without a key', async () => {
      for (const q of ['stream=../etc', 'type=lower', 'after=-5', 'limit=5000', 'cursor=!!', 'x=1']) {
        const res = await get(`/v1/events?${q}`, k.auditor);
        expect(res.statusCode, q).to.equal(400);
        expect(res.headers['content-type']).to.match(/problem\+json/);
      }
      expect((await get('/v1/events?cursor=WyJrZXlzIiwiYSJd', k.auditor)).json().code).to.equal('INVALID_CURSOR');
      // A cursor of the right list edited to a position no page ends at: the cursor is what is
      // wrong (it answered VALIDATION_FAILED naming `after`, a parameter the client never sent).
      for (const [list, url] of [['events', '/v1/events'], ['task-events', `/v1/tasks/${acmeTask}/events`]]) {
        for (const position of [-5, -2]) {
          const edited = Buffer.from(JSON.stringify([list, position])).toString('base64url');
          const res = await get(`${url}?cursor=${edited}`, k.auditor);
          expect(res.statusCode, `${list} ${position}`).to.equal(400);
          expect(res.json(), `${list} ${position}`).to.include({ code: 'INVALID_CURSOR', field: 'cursor' });
        }
      }
      expect((await get('/v1/events', k.viewer)).statusCode).to.equal(403);
      expect((await get('/v1/events', k.agent)).statusCode).to.equal(403);
      expect((await get('/v1/events')).statusCode).to.equal(401);
    });
  });

  describe('GET /v1/events/:id', () => {
    it('returns the full envelope with hash; another tenant gets 404; bad id 400', async () => {
      const res = await get(`/v1/events/${acmeEvent}`, k.auditor);
      expect(res.statusCode).to.equal(200);
      expect(res.json()).to.include({ id: acmeEvent, type: 'TaskSubmitted', tenant: 'acme' });
      expect(res.json().hash).to.match(/^0x[0-9a-f]{64}$/);
      expect((await get(`/v1/events/${acmeEvent}`, k.betaAuditor)).statusCode).to.equal(404);
      expect((await get(`/v1/events/${acmeEvent}`, k.global)).statusCode).to.equal(200);
      expect((await get('/v1/events/1%27%20OR%201=1', k.auditor)).statusCode).to.equal(400);
      expect((await get(`/v1/events/${acmeEvent}`, k.viewer)).statusCode).to.equal(403);
    });
  });

  describe('GET /v1/events/:id/proof', () => {
    it('409 PROOF_PENDING with Retry-After before anchoring, the proof file after', async () => {
      h.proofs.anchoredBelow = 0;
      const pending = await get(`/v1/events/${acmeEvent}/proof`, k.auditor);
      expect(pending.statusCode).to.equal(409);
      expect(pending.json().code).to.equal('PROOF_PENDING');
      expect(pending.headers['retry-after']).to.equal('7');
      h.proofs.anchoredBelow = 1_000;
      const ok = await get(`/v1/events/${acmeEvent}/proof`, k.auditor);
      expect(ok.statusCode).to.equal(200);
      expect(ok.json().format).to.equal('openmcp-proof/1');
      expect(ok.json().event.id).to.equal(acmeEvent);
    });

    it('404 for another tenant; 403 for viewer and agent; 400 for a bad id', async () => {
      expect((await get(`/v1/events/${acmeEvent}/proof`, k.betaAuditor)).statusCode).to.equal(404);
      expect((await get(`/v1/events/${acmeEvent}/proof`, k.viewer)).statusCode).to.equal(403);
      expect((await get(`/v1/events/${acmeEvent}/proof`, k.agent)).statusCode).to.equal(403);
      expect((await get('/v1/events/x/proof', k.auditor)).statusCode).to.equal(400);
    });

    it('503 DEPENDENCY_UNAVAILABLE when no proofs service is wired', async () => {
      const h2 = await makeHarness({ proofs: undefined });
      try {
        const res = await h2.call({ method: 'GET', url: `/v1/events/${acmeEvent}/proof`, auth: (await h2.key('auditor', 'acme')).auth });
        expect(res.statusCode).to.equal(503);
        expect(res.json().code).to.equal('DEPENDENCY_UNAVAILABLE');
      } finally {
        await h2.close();
      }
    });
  });

  describe('GET /v1/batches…', () => {
    it('lists and shows batch heads to auditors of any tenant', async () => {
      const list = await get('/v1/batches', k.betaAuditor);
      expect(list.statusCode).to.equal(200);
      expect(list.json().items[0]).to.include({ id: 0 });
      const one = await get('/v1/batches/0', k.auditor);
      expect(one.statusCode).to.equal(200);
      expect(one.json().root).to.match(/^0x[0-9a-f]{64}$/);
    });

    it('400 for bad ids and cursors, 404 for unknown batches, 403 for viewer', async () => {
      for (const id of ['-1', 'abc', '1.5', '01', '99999999999999999']) {
        expect((await get(`/v1/batches/${id}`, k.auditor)).statusCode, id).to.equal(400);
      }
      expect((await get('/v1/batches/7', k.auditor)).statusCode).to.equal(404);
      expect((await get('/v1/batches?cursor=zz', k.auditor)).json().code).to.equal('INVALID_CURSOR');
      expect((await get('/v1/batches', k.viewer)).statusCode).to.equal(403);
      expect((await get('/v1/batches/0', k.agent)).statusCode).to.equal(403);
    });

    it('the batch export is for cross-tenant auditors only (it holds every tenant)', async () => {
      const res = await get('/v1/batches/0/events', k.global);
      expect(res.statusCode).to.equal(200);
      expect(res.json().events).to.have.length(1);
      const tenantAuditor = await get('/v1/batches/0/events', k.auditor);
      expect(tenantAuditor.statusCode).to.equal(403);
      expect(tenantAuditor.json().code).to.equal('FORBIDDEN');
      expect((await get('/v1/batches/0/events', k.operator)).statusCode).to.equal(403);
      expect((await get('/v1/batches/5/events', k.global)).statusCode).to.equal(404);
    });
  });
});
