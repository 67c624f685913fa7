import { expect } from 'chai';
import { SignJWT } from 'jose';
import { catalog } from '../../events';
import { createJwtVerifier } from '../../src/auth/jwt';
import type { DecideApprovalParameters } from '../../src/api/services';
import { makeHarness, type Harness } from './support/harness';

const STEP = { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] };
const SECRET = 'a-test-secret-that-is-at-least-32-chars!';
const PROPOSAL = { proposalHash: `0x${'a'.repeat(64)}`, decision: 'approve' };

/**
 * A key (or token) limited to agent ids acts only as those agents: the per-agent policy entry a
 * task's agentId selects is then bound to whoever holds that agent's key.
 */
describe('API keys limited to agents', () => {
  let h: Harness;
  let admin: string;
  let unlimited: string;
  const approvals: DecideApprovalParameters[] = [];

  before(async () => {
    h = await makeHarness({
      jwt: createJwtVerifier({ JWT_SECRET: SECRET }),
      approvals: {
        decide: async (p) => {
          approvals.push(p);
          return { taskId: p.taskId, proposalHash: p.proposalHash, decision: p.decision };
        },
      },
    });
    admin = (await h.key('admin', 'acme')).auth;
    unlimited = (await h.key('agent', 'acme')).auth;
  });
  after(() => h.close());

  const submit = (auth: string, body: object = STEP, headers: Record<string, string> = {}) => h.call({ method: 'POST', url: '/v1/tasks', auth, payload: body, headers });
  const createKey = (auth: string, payload: object) => h.call({ method: 'POST', url: '/v1/keys', auth, payload });
  const limitedKey = async (role: string, agents: string[]) => {
    const res = await createKey(admin, { role, tenant: 'acme', agents });
    expect(res.statusCode, res.body).to.equal(201);
    return `Bearer ${res.json().key}`;
  };

  describe('POST /v1/tasks', () => {
    it('403 AGENT_NOT_ALLOWED for another agentId, naming it and the limit; nothing appended (with an Idempotency-Key too)', async () => {
      const billing = await limitedKey('agent', ['billing-bot']);
      const head = await h.store.headPosition();
      const res = await submit(billing, { ...STEP, agentId: 'ops-bot' });
      expect(res.statusCode).to.equal(403);
      expect(res.headers['content-type']).to.include('application/problem+json');
      const problem = res.json();
      expect(problem).to.include({ code: 'AGENT_NOT_ALLOWED', field: 'body.agentId' });
      expect(problem.detail).to.include('ops-bot').and.to.include('billing-bot').and.to.include('limited');
      expect((await submit(billing, { ...STEP, agentId: 'ops-bot' }, { 'idempotency-key': 'k-ops-1' })).statusCode).to.equal(403);
      expect(await h.store.headPosition()).to.equal(head);
    });

    it('403 for a task without agentId (it would take the tenant-wide policy entry); nothing appended', async () => {
      const billing = await limitedKey('agent', ['billing-bot']);
      const head = await h.store.headPosition();
      const res = await submit(billing, STEP);
      expect(res.statusCode).to.equal(403);
      expect(res.json()).to.include({ code: 'AGENT_NOT_ALLOWED', field: 'body.agentId' });
      expect(res.json().detail).to.include('billing-bot');
      expect(await h.store.headPosition()).to.equal(head);
    });

    it('202 for an agentId in its list', async () => {
      const two = await limitedKey('operator', ['billing-bot', 'ops-bot']);
      for (const agentId of ['billing-bot', 'ops-bot']) {
        const res = await submit(two, { ...STEP, agentId });
        expect(res.statusCode, res.body).to.equal(202);
        const [e] = await h.store.readStream(`task-${res.json().id}`);
        expect(e.data).to.deep.equal({ ...STEP, agentId });
      }
    });

    it('a key without a list submits as any agent, or none, as before', async () => {
      for (const body of [{ ...STEP, agentId: 'ops-bot' }, { ...STEP, agentId: 'billing-bot' }, STEP]) {
        expect((await submit(unlimited, body)).statusCode).to.equal(202);
      }
    });

    it('a JWT with an agents claim is limited the same way; a malformed claim is refused (401), never read as no limit', async () => {
      const token = (agents: unknown) =>
        new SignJWT({ tenant: 'acme', role: 'agent', ...(agents !== undefined ? { agents } : {}) }).setProtectedHeader({ alg: 'HS256' }).setSubject('bot-7').setExpirationTime('5m').sign(Buffer.from(SECRET));
      const limited = `Bearer ${await token(['billing-bot'])}`;
      const head = await h.store.headPosition();
      const refused = await submit(limited, { ...STEP, agentId: 'ops-bot' });
      expect(refused.json()).to.include({ code: 'AGENT_NOT_ALLOWED' });
      expect(await h.store.headPosition()).to.equal(head);
      expect((await submit(limited, { ...STEP, agentId: 'billing-bot' })).statusCode).to.equal(202);
      expect((await submit(`Bearer ${await token(undefined)}`, { ...STEP, agentId: 'ops-bot' })).statusCode).to.equal(202);
      for (const bad of ['billing-bot', [], ['*'], [''], [1]]) {
        const res = await submit(`Bearer ${await token(bad)}`, { ...STEP, agentId: 'billing-bot' });
        expect(res.statusCode, JSON.stringify(bad)).to.equal(401);
      }
    });
  });

  describe('acting on a task of another agent', () => {
    it('cancel: 202 for a task of its agent; 403 AGENT_NOT_ALLOWED for another agent\'s task or one without agentId, nothing appended; 404 for another tenant\'s', async () => {
      const billing = await limitedKey('agent', ['billing-bot']);
      const own = (await submit(billing, { ...STEP, agentId: 'billing-bot' })).json().id;
      expect((await h.call({ method: 'POST', url: `/v1/tasks/${own}/cancel`, auth: billing })).statusCode).to.equal(202);
      for (const body of [{ ...STEP, agentId: 'ops-bot' }, STEP]) {
        const other = (await submit(unlimited, body)).json().id;
        const head = await h.store.headPosition();
        const res = await h.call({ method: 'POST', url: `/v1/tasks/${other}/cancel`, auth: billing });
        expect(res.statusCode).to.equal(403);
        expect(res.json().code).to.equal('AGENT_NOT_ALLOWED');
        expect(await h.store.headPosition()).to.equal(head);
      }
      const beta = (await submit((await h.key('agent', 'beta')).auth, { ...STEP, agentId: 'billing-bot' })).json().id;
      expect((await h.call({ method: 'POST', url: `/v1/tasks/${beta}/cancel`, auth: billing })).statusCode).to.equal(404);
      expect((await h.call({ method: 'POST', url: '/v1/tasks/01900000-0000-7000-8000-00000000abcd/cancel', auth: billing })).statusCode).to.equal(404);
    });

    it('approvals: a limited operator decides only on its agents\' tasks (403 before the approvals service is asked)', async () => {
      const op = await limitedKey('operator', ['billing-bot']);
      const own = (await submit(unlimited, { ...STEP, agentId: 'billing-bot' })).json().id;
      const other = (await submit(unlimited, { ...STEP, agentId: 'ops-bot' })).json().id;
      approvals.length = 0;
      const refused = await h.call({ method: 'POST', url: `/v1/tasks/${other}/approvals`, auth: op, payload: PROPOSAL });
      expect(refused.statusCode).to.equal(403);
      expect(refused.json().code).to.equal('AGENT_NOT_ALLOWED');
      expect(approvals).to.have.length(0);
      expect((await h.call({ method: 'POST', url: `/v1/tasks/${own}/approvals`, auth: op, payload: PROPOSAL })).statusCode).to.equal(202);
      expect(approvals.map((a) => a.taskId)).to.deep.equal([own]);
    });
  });

  describe('POST /v1/keys and GET /v1/keys', () => {
    it('sets the list at creation, shows it in the answer and the list, and records it (ApiKeyCreated v2); a key without one records v1', async () => {
      const res = await createKey(admin, { role: 'agent', tenant: 'acme', name: 'billing', agents: ['billing-bot', 'billing-bot-2'] });
      expect(res.statusCode).to.equal(201);
      const created = res.json();
      expect(created.agents).to.deep.equal(['billing-bot', 'billing-bot-2']);
      const listed = (await h.call({ method: 'GET', url: '/v1/keys?limit=200', auth: admin })).json().items.find((k: { id: string }) => k.id === created.id);
      expect(listed.agents).to.deep.equal(['billing-bot', 'billing-bot-2']);
      const [e] = await h.store.readStream(`apikey-${created.id}`);
      expect(e).to.include({ type: 'ApiKeyCreated', version: 2 });
      expect(e.data).to.deep.include({ agents: ['billing-bot', 'billing-bot-2'] });
      expect(() => catalog.validate('ApiKeyCreated', 2, e.data)).not.to.throw();

      const plain = (await createKey(admin, { role: 'agent', tenant: 'acme' })).json();
      expect(plain).not.to.have.property('agents');
      const [v1] = await h.store.readStream(`apikey-${plain.id}`);
      expect(v1).to.include({ type: 'ApiKeyCreated', version: 1 });
      expect(v1.data).not.to.have.property('agents');
    });

    for (const [name, payload, field] of [
      ['an empty list', { role: 'agent', tenant: 'acme', agents: [] }, 'body.agents'],
      ['a wildcard', { role: 'agent', tenant: 'acme', agents: ['*'] }, 'body.agents.0'],
      ['an id with a space', { role: 'agent', tenant: 'acme', agents: ['ok', 'billing bot'] }, 'body.agents.1'],
      ['a duplicate', { role: 'agent', tenant: 'acme', agents: ['a', 'a'] }, 'body.agents'],
      ['not a list', { role: 'agent', tenant: 'acme', agents: 'billing-bot' }, 'body.agents'],
      ['more than 100', { role: 'agent', tenant: 'acme', agents: Array.from({ length: 101 }, (_, i) => `a${i}`) }, 'body.agents'],
      ['a role that cannot submit tasks', { role: 'viewer', tenant: 'acme', agents: ['billing-bot'] }, 'body.agents'],
    ] as const) {
      it(`400 VALIDATION_FAILED naming the field for ${name}; no key made`, async () => {
        const before = (await h.keys.list({ tenant: 'acme', limit: 1000 })).length;
        const res = await createKey(admin, payload);
        expect(res.statusCode, res.body).to.equal(400);
        expect(res.json()).to.include({ code: 'VALIDATION_FAILED', field });
        expect((await h.keys.list({ tenant: 'acme', limit: 1000 })).length).to.equal(before);
      });
    }

    it('a limited admin issues keys that submit tasks only limited to some of its own agents (403 AGENT_NOT_ALLOWED otherwise); a viewer key as before', async () => {
      const limitedAdmin = await limitedKey('admin', ['billing-bot', 'ops-bot']);
      for (const payload of [{ role: 'agent', tenant: 'acme' }, { role: 'agent', tenant: 'acme', agents: ['billing-bot', 'root-bot'] }]) {
        const res = await createKey(limitedAdmin, payload);
        expect(res.statusCode).to.equal(403);
        expect(res.json()).to.include({ code: 'AGENT_NOT_ALLOWED', field: 'body.agents' });
      }
      const ok = await createKey(limitedAdmin, { role: 'agent', tenant: 'acme', agents: ['ops-bot'] });
      expect(ok.statusCode).to.equal(201);
      expect(ok.json().agents).to.deep.equal(['ops-bot']);
      expect((await createKey(limitedAdmin, { role: 'viewer', tenant: 'acme' })).statusCode).to.equal(201);
    });
  });
});
