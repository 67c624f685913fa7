import { expect } from 'chai';
import { catalog } from '../../events';
import { ensureAdminKey } from '../../src/auth/ensure-admin-key';
import { apiKeyDecider } from '../../src/auth/api-key.decider';
import type { KeyStore } from '../../src/auth/key-store';
import { BOOTSTRAP_KEY_ID } from '../../src/auth/key-service';
import type { RecordedEvent } from '../../src/core/envelope';
import { makeHarness, type Harness } from './support/harness';

const STEP = { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] };

/**
 * `PATCH /v1/keys/:id {agents}`: an admin widens, narrows or lifts a key's agent limit in place,
 * recorded as ApiKeyAgentsChanged and applied to the very next request made with the key.
 */
describe('PATCH /v1/keys/:id (change the agents a key may act as)', () => {
  let h: Harness;
  let root: string;
  let admin: { auth: string; id: string };
  let betaAdmin: string;

  before(async () => {
    h = await makeHarness();
    root = `Bearer ${(await ensureAdminKey({ OPENMCP_ADMIN_KEY: 'bootstrap-admin-key-0123456789', dataDir: '/nonexistent' }, h.keys)).key}`;
    admin = await h.key('admin', 'acme');
    betaAdmin = (await h.key('admin', 'beta')).auth;
  });
  after(() => h.close());

  const createKey = async (auth: string, payload: object) => {
    const res = await h.call({ method: 'POST', url: '/v1/keys', auth, payload });
    expect(res.statusCode, res.body).to.equal(201);
    const k = res.json();
    return { id: k.id as string, auth: `Bearer ${k.key}` };
  };
  const patch = (auth: string, id: string, payload: unknown, headers: Record<string, string> = {}) =>
    h.call({ method: 'PATCH', url: `/v1/keys/${id}`, auth, payload: payload as object, headers });
  const submit = (auth: string, agentId?: string) => h.call({ method: 'POST', url: '/v1/tasks', auth, payload: { ...STEP, ...(agentId ? { agentId } : {}) } });
  const types = async (id: string) => (await h.store.readStream(`apikey-${id}`)).map((e) => `${e.type}.v${e.version}`);
  const listed = async (id: string) => (await h.call({ method: 'GET', url: '/v1/keys?limit=200', auth: root })).json().items.find((k: { id: string }) => k.id === id);

  it('widens a limited key: 200 with the key, ApiKeyAgentsChanged v1 by the admin, GET /v1/keys shows it', async () => {
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['billing-bot'] });
    const res = await patch(admin.auth, k.id, { agents: ['billing-bot', 'ops-bot'] }, { 'x-request-id': 'ka-1' });
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json()).to.include({ id: k.id, tenant: 'acme', role: 'agent' });
    expect(res.json().agents).to.deep.equal(['billing-bot', 'ops-bot']);
    expect(res.json()).not.to.have.property('key');
    expect(res.json()).not.to.have.property('hash');
    const events = await h.store.readStream(`apikey-${k.id}`);
    expect(events.map((e) => e.type)).to.deep.equal(['ApiKeyCreated', 'ApiKeyAgentsChanged']);
    const changed = events[1];
    expect(changed).to.include({ version: 1, tenant: 'acme', correlationId: 'ka-1' });
    expect(changed.actor).to.deep.equal({ kind: 'user', id: admin.id });
    expect(changed.data).to.deep.equal({ keyId: k.id, agents: ['billing-bot', 'ops-bot'] });
    expect(() => catalog.validate('ApiKeyAgentsChanged', 1, changed.data)).not.to.throw();
    expect((await listed(k.id)).agents).to.deep.equal(['billing-bot', 'ops-bot']);
  });

  it('the next request with the key is checked against the new list, though the key was just verified (cached)', async () => {
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['billing-bot', 'ops-bot'] });
    // Both verify the key and leave it in the authenticator's cache.
    expect((await submit(k.auth, 'ops-bot')).statusCode).to.equal(202);
    expect((await submit(k.auth, 'billing-bot')).statusCode).to.equal(202);

    expect((await patch(admin.auth, k.id, { agents: ['billing-bot'] })).statusCode).to.equal(200);
    const narrowed = await submit(k.auth, 'ops-bot');
    expect(narrowed.statusCode, 'narrowed: refused at once').to.equal(403);
    expect(narrowed.json()).to.include({ code: 'AGENT_NOT_ALLOWED' });
    expect(narrowed.json().detail).to.include('billing-bot').and.not.to.include('billing-bot, ops-bot');
    expect((await submit(k.auth, 'billing-bot')).statusCode).to.equal(202);

    expect((await patch(admin.auth, k.id, { agents: ['billing-bot', 'root-bot'] })).statusCode).to.equal(200);
    expect((await submit(k.auth, 'root-bot')).statusCode, 'widened: allowed at once').to.equal(202);

    expect((await patch(admin.auth, k.id, { agents: null })).statusCode).to.equal(200);
    expect((await submit(k.auth)).statusCode, 'no limit: a task without agentId too').to.equal(202);
    expect((await submit(k.auth, 'any-bot')).statusCode).to.equal(202);
  });

  it('a keep-alive connection that presented the key before is checked against the new list too', async () => {
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['billing-bot', 'ops-bot'] });
    // Closed with the app (h.close): fastify ends idle keep-alive connections then.
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const post = async (agentId: string) => {
      const res = await fetch(`${url}/v1/tasks`, { method: 'POST', headers: { authorization: k.auth, 'content-type': 'application/json' }, body: JSON.stringify({ ...STEP, agentId }) });
      return { status: res.status, body: (await res.json()) as { code?: string } };
    };
    expect((await post('ops-bot')).status).to.equal(202);
    expect((await post('ops-bot')).status).to.equal(202);
    expect((await patch(admin.auth, k.id, { agents: ['billing-bot'] })).statusCode).to.equal(200);
    const refused = await post('ops-bot');
    expect(refused.status).to.equal(403);
    expect(refused.body.code).to.equal('AGENT_NOT_ALLOWED');
  });

  it('lifts the limit with {agents: null}: the event has no agents, the key is listed without them', async () => {
    const k = await createKey(admin.auth, { role: 'operator', tenant: 'acme', agents: ['billing-bot'] });
    const res = await patch(admin.auth, k.id, { agents: null });
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json()).not.to.have.property('agents');
    const [, changed] = await h.store.readStream(`apikey-${k.id}`);
    expect(changed).to.include({ type: 'ApiKeyAgentsChanged', version: 1 });
    expect(changed.data).to.deep.equal({ keyId: k.id });
    expect(await listed(k.id)).not.to.have.property('agents');
    expect((await h.keys.get(k.id))!).not.to.have.property('agents');
  });

  it('limits a key made without a list', async () => {
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme' });
    expect((await submit(k.auth)).statusCode).to.equal(202);
    expect((await patch(admin.auth, k.id, { agents: ['billing-bot'] })).json().agents).to.deep.equal(['billing-bot']);
    expect((await submit(k.auth)).statusCode).to.equal(403);
    expect(await types(k.id)).to.deep.equal(['ApiKeyCreated.v1', 'ApiKeyAgentsChanged.v1']);
  });

  it('the same list again (in any order) changes nothing: 200 with the key as it is, nothing appended', async () => {
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['a-bot', 'b-bot'] });
    const head = await h.store.headPosition();
    for (const agents of [['a-bot', 'b-bot'], ['b-bot', 'a-bot']]) {
      const res = await patch(admin.auth, k.id, { agents });
      expect(res.statusCode, res.body).to.equal(200);
      expect(res.json().agents).to.deep.equal(['a-bot', 'b-bot']);
    }
    const unlimited = await createKey(admin.auth, { role: 'agent', tenant: 'acme' });
    const head2 = await h.store.headPosition();
    expect((await patch(admin.auth, unlimited.id, { agents: null })).statusCode).to.equal(200);
    expect(await h.store.headPosition()).to.equal(head2);
    expect(await types(k.id)).to.deep.equal(['ApiKeyCreated.v2']);
    expect(head2).to.equal(head + 1);
  });

  describe('bad input: a 4xx naming the field, nothing appended, the key unchanged', () => {
    for (const [name, payload, field] of [
      ['an empty list', { agents: [] }, 'body.agents'],
      ['a wildcard', { agents: ['*'] }, 'body.agents.0'],
      ['an id with a space', { agents: ['ok', 'billing bot'] }, 'body.agents.1'],
      ['a duplicate', { agents: ['a', 'a'] }, 'body.agents'],
      ['not a list', { agents: 'billing-bot' }, 'body.agents'],
      ['more than 100', { agents: Array.from({ length: 101 }, (_, i) => `a${i}`) }, 'body.agents'],
      ['no agents at all', {}, 'body.agents'],
      ['another field', { agents: ['x'], role: 'admin' }, 'body.role'],
    ] as const) {
      it(`400 VALIDATION_FAILED for ${name}`, async () => {
        const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['billing-bot'] });
        const head = await h.store.headPosition();
        const res = await patch(admin.auth, k.id, payload);
        expect(res.statusCode, res.body).to.equal(400);
        expect(res.json()).to.include({ code: 'VALIDATION_FAILED', field });
        expect(await h.store.headPosition()).to.equal(head);
        expect((await h.keys.get(k.id))!.agents).to.deep.equal(['billing-bot']);
      });
    }

    it('400 for a list on a key whose role submits no tasks (viewer, auditor); null is accepted (it has none)', async () => {
      const k = await createKey(admin.auth, { role: 'viewer', tenant: 'acme' });
      const head = await h.store.headPosition();
      const res = await patch(admin.auth, k.id, { agents: ['billing-bot'] });
      expect(res.statusCode).to.equal(400);
      expect(res.json()).to.include({ code: 'VALIDATION_FAILED', field: 'body.agents' });
      expect((await patch(admin.auth, k.id, { agents: null })).statusCode).to.equal(200);
      expect(await h.store.headPosition()).to.equal(head);
      // The detail reads as English for either role ("a auditor key" before).
      const auditor = await createKey(admin.auth, { role: 'auditor', tenant: 'acme' });
      expect((await patch(admin.auth, auditor.id, { agents: ['billing-bot'] })).json().detail).to.equal(
        'agents limits the agents a key submits tasks as; an auditor key submits none (roles admin, operator, agent)',
      );
    });

    it('400 for an id that is not a UUID; 404 for an unknown key', async () => {
      expect((await patch(admin.auth, 'not-a-uuid', { agents: ['x'] })).json()).to.include({ code: 'VALIDATION_FAILED', field: 'params.id' });
      expect((await patch(admin.auth, '01900000-0000-7000-8000-000000000000', { agents: ['x'] })).statusCode).to.equal(404);
    });
  });

  it("tenant isolation: another tenant's admin gets 404 (as for a missing key) and changes nothing; a cross-tenant admin may", async () => {
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['billing-bot'] });
    const head = await h.store.headPosition();
    const res = await patch(betaAdmin, k.id, { agents: ['ops-bot'] });
    expect(res.statusCode).to.equal(404);
    expect(res.json().code).to.equal('NOT_FOUND');
    expect(await h.store.headPosition()).to.equal(head);
    expect((await h.keys.get(k.id))!.agents).to.deep.equal(['billing-bot']);
    const byRoot = await patch(root, k.id, { agents: ['ops-bot'] });
    expect(byRoot.statusCode).to.equal(200);
    const [, changed] = await h.store.readStream(`apikey-${k.id}`);
    expect(changed.tenant, "recorded in the key's tenant").to.equal('acme');
    expect(changed.actor.id).to.equal(BOOTSTRAP_KEY_ID);
  });

  it('only admins (keys:manage): 403 for an operator, 401 without a key', async () => {
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['billing-bot'] });
    const op = (await h.key('operator', 'acme')).auth;
    expect((await patch(op, k.id, { agents: ['ops-bot'] })).statusCode).to.equal(403);
    expect((await h.call({ method: 'PATCH', url: `/v1/keys/${k.id}`, payload: { agents: ['ops-bot'] } })).statusCode).to.equal(401);
    expect(await types(k.id)).to.deep.equal(['ApiKeyCreated.v2']);
  });

  it('a revoked key: 409 INVALID_TRANSITION saying it is revoked; nothing appended', async () => {
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['billing-bot'] });
    expect((await h.call({ method: 'DELETE', url: `/v1/keys/${k.id}`, auth: admin.auth })).statusCode).to.equal(204);
    const head = await h.store.headPosition();
    const res = await patch(admin.auth, k.id, { agents: ['ops-bot'] });
    expect(res.statusCode).to.equal(409);
    expect(res.json().code).to.equal('INVALID_TRANSITION');
    expect(res.json().detail).to.include('revoked');
    expect(await h.store.headPosition()).to.equal(head);
    expect((await h.keys.get(k.id))!.agents).to.deep.equal(['billing-bot']);
  });

  it('the bootstrap admin key: 403 (it is put back as configured on every start), nothing appended', async () => {
    const head = await h.store.headPosition();
    const res = await patch(root, BOOTSTRAP_KEY_ID, { agents: ['ops-bot'] });
    expect(res.statusCode).to.equal(403);
    expect(res.json()).to.include({ code: 'FORBIDDEN', field: 'id' });
    expect(await h.store.headPosition()).to.equal(head);
    expect((await h.keys.get(BOOTSTRAP_KEY_ID))!).not.to.have.property('agents');
  });

  it('a tenant admin cannot change a cross-tenant key of its tenant (403 field id); a cross-tenant admin can', async () => {
    const defaultAdmin = (await h.key('admin', 'default')).auth;
    const cross = await createKey(root, { role: 'admin', tenant: 'default', crossTenant: true });
    const refused = await patch(defaultAdmin, cross.id, { agents: ['ops-bot'] });
    expect(refused.statusCode).to.equal(403);
    expect(refused.json()).to.include({ code: 'FORBIDDEN', field: 'id' });
    expect(await types(cross.id)).to.deep.equal(['ApiKeyCreated.v1']);
    expect((await patch(root, cross.id, { agents: ['ops-bot'] })).statusCode).to.equal(200);
  });

  it('a limited admin sets only lists within its own agents, never no limit (403 AGENT_NOT_ALLOWED field body.agents)', async () => {
    const limitedAdmin = await createKey(admin.auth, { role: 'admin', tenant: 'acme', agents: ['billing-bot', 'ops-bot'] });
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['billing-bot'] });
    const head = await h.store.headPosition();
    for (const agents of [null, ['billing-bot', 'root-bot']]) {
      const res = await patch(limitedAdmin.auth, k.id, { agents });
      expect(res.statusCode, JSON.stringify(agents)).to.equal(403);
      expect(res.json()).to.include({ code: 'AGENT_NOT_ALLOWED', field: 'body.agents' });
      // Worded for a change, not an issue.
      expect(JSON.stringify(res.json())).to.match(agents ? /may not give a key root-bot/ : /a key it changes must stay limited/);
    }
    expect(await h.store.headPosition()).to.equal(head);
    expect((await patch(limitedAdmin.auth, k.id, { agents: ['ops-bot'] })).json().agents).to.deep.equal(['ops-bot']);
  });

  it('changes made at once all land: the key ends with the list of the last ApiKeyAgentsChanged in its stream', async () => {
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['a0'] });
    const lists = Array.from({ length: 6 }, (_, i) => [`a${i + 1}`]);
    const answers = await Promise.all(lists.map((agents) => patch(admin.auth, k.id, { agents })));
    expect(answers.map((r) => r.statusCode)).to.deep.equal(lists.map(() => 200));
    const events = await h.store.readStream(`apikey-${k.id}`);
    expect(events.map((e) => e.type)).to.deep.equal(['ApiKeyCreated', ...lists.map(() => 'ApiKeyAgentsChanged')]);
    expect((await h.keys.get(k.id))!.agents).to.deep.equal(events.at(-1)!.data.agents);
  });

  it("replaying the key's stream from the log (GET /v1/events, as an auditor would) gives the list api_keys holds", async () => {
    const k = await createKey(admin.auth, { role: 'agent', tenant: 'acme', agents: ['a-bot'] });
    for (const agents of [['b-bot', 'c-bot'], null, ['d-bot'], ['d-bot']]) expect((await patch(admin.auth, k.id, { agents })).statusCode).to.equal(200);
    const log: RecordedEvent[] = (await h.call({ method: 'GET', url: `/v1/events?stream=apikey-${k.id}&limit=100`, auth: root })).json().items;
    expect(log.map((e) => e.type)).to.deep.equal(['ApiKeyCreated', 'ApiKeyAgentsChanged', 'ApiKeyAgentsChanged', 'ApiKeyAgentsChanged']);
    const state = log.map((e) => catalog.upcast(e)).reduce((s, e) => apiKeyDecider.evolve(s, { type: e.type, data: e.data }), apiKeyDecider.initialState());
    expect(state.agents).to.deep.equal(['d-bot']);
    expect((await h.keys.get(k.id))!.agents).to.deep.equal(state.agents);
  });
});

describe('PATCH /v1/keys/:id when the key store fails after the change was recorded', () => {
  let h: Harness;
  let admin: string;
  let failNext = false;
  let target: KeyStore;
  // The harness's SQL key store, failing one setAgents on demand (a database that went away between the append and the write).
  const keys = new Proxy({} as KeyStore, {
    get: (_t, name: keyof KeyStore) => (...args: never[]) => {
      if (name === 'setAgents' && failNext) {
        failNext = false;
        return Promise.reject(new Error('connection lost'));
      }
      return (target[name] as (...a: never[]) => unknown).apply(target, args);
    },
  });

  before(async () => {
    h = await makeHarness({ keys });
    target = h.keys;
    admin = (await h.key('admin', 'acme')).auth;
  });
  after(() => h.close());

  it('answers 500; the same request again applies the recorded list from the log without recording it twice', async () => {
    const created = await h.call({ method: 'POST', url: '/v1/keys', auth: admin, payload: { role: 'agent', tenant: 'acme', agents: ['a-bot'] } });
    const { id, key } = created.json();
    failNext = true;
    const failed = await h.call({ method: 'PATCH', url: `/v1/keys/${id}`, auth: admin, payload: { agents: ['b-bot'] } });
    expect(failed.statusCode).to.equal(500);
    expect((await h.store.readStream(`apikey-${id}`)).map((e) => e.type)).to.deep.equal(['ApiKeyCreated', 'ApiKeyAgentsChanged']);
    // Meanwhile the key is not wider than its log says: a-bot, taken away, is refused already.
    const asOld = await h.call({ method: 'POST', url: '/v1/tasks', auth: `Bearer ${key}`, payload: { ...STEP, agentId: 'a-bot' } });
    expect(asOld.statusCode, asOld.body).to.equal(403);
    const again = await h.call({ method: 'PATCH', url: `/v1/keys/${id}`, auth: admin, payload: { agents: ['b-bot'] } });
    expect(again.statusCode, again.body).to.equal(200);
    expect(again.json().agents).to.deep.equal(['b-bot']);
    expect((await h.store.readStream(`apikey-${id}`)).map((e) => e.type)).to.deep.equal(['ApiKeyCreated', 'ApiKeyAgentsChanged']);
    const submitted = await h.call({ method: 'POST', url: '/v1/tasks', auth: `Bearer ${key}`, payload: { ...STEP, agentId: 'b-bot' } });
    expect(submitted.statusCode).to.equal(202);
  });
});
