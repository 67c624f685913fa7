import { expect } from 'chai';
import { makeHarness, type Harness } from './support/harness';

/**
 * Answers to authenticated requests hold a tenant's tasks (instructions, answers), tool calls
 * with their payloads, events, keys and proofs. They carried no Cache-Control, so a shared proxy
 * or a browser's cache could keep them and hand them to the next person asking the same URL.
 */
describe('REST /v1: Cache-Control no-store on every answer', () => {
  let h: Harness;
  let admin: string;

  before(async () => {
    h = await makeHarness();
    admin = (await h.key('admin', 'acme', true)).auth;
  });
  after(() => h.close());

  it('answers every /v1 read and write no-store, refusals included; public routes keep their own', async () => {
    const task = await h.call({ method: 'POST', url: '/v1/tasks', auth: admin, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'secret' } }] } });
    expect(task.statusCode).to.equal(202);
    const id = String(task.json().id);
    const events = await h.call({ method: 'GET', url: `/v1/tasks/${id}/events`, auth: admin });
    const eventId = String(events.json().items[0].id);
    const answers = [
      task,
      events,
      await h.call({ method: 'GET', url: '/v1/tasks', auth: admin }),
      await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: admin }),
      await h.call({ method: 'GET', url: '/v1/tool-calls', auth: admin }),
      await h.call({ method: 'GET', url: '/v1/events', auth: admin }),
      await h.call({ method: 'GET', url: `/v1/events/${eventId}`, auth: admin }),
      await h.call({ method: 'GET', url: `/v1/events/${eventId}/proof`, auth: admin }), // 409 PROOF_PENDING
      await h.call({ method: 'GET', url: '/v1/batches', auth: admin }),
      await h.call({ method: 'GET', url: '/v1/keys', auth: admin }),
      await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: admin }),
      await h.call({ method: 'GET', url: '/v1/tasks?limit=0', auth: admin }), // 400
      await h.call({ method: 'GET', url: '/v1/tasks' }), // 401
      await h.call({ method: 'POST', url: '/v1/keys', auth: admin, payload: { role: 'viewer', tenant: 'acme' } }),
    ];
    for (const res of answers) expect(res.headers['cache-control'], `${res.statusCode} ${res.body.slice(0, 80)}`).to.equal('no-store');
    expect(answers.map((r) => r.statusCode)).to.include.members([200, 202, 201, 400, 401, 409]);

    // Refused before any route (no route, bad URL encoding, an id over 500 characters): no-store
    // as well (a 404 is cacheable by default, and the docs say every answer under /v1).
    for (const url of ['/v1/nope', '/v1/tasks/%zz', `/v1/tasks/${'a'.repeat(501)}`, '/v1/tasks/x/nope']) {
      const res = await h.call({ method: 'GET', url, auth: admin });
      expect([400, 404, 414], url).to.include(res.statusCode);
      expect(res.headers['cache-control'], `${url}: ${res.statusCode}`).to.equal('no-store');
    }

    expect((await h.call({ method: 'GET', url: '/healthz' })).headers['cache-control']).to.equal(undefined);
    expect((await h.call({ method: 'GET', url: '/docs' })).headers['cache-control']).to.equal(undefined);
  });

  it('declares Cache-Control on every /v1 answer in /docs', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    type Responses = Record<string, { headers?: Record<string, { description: string }> }>;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: Responses }>>)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          expect(response.headers?.['cache-control']?.description, `${method} ${path} ${status}`).to.match(/^no-store/);
        }
      }
    }
  });
});
