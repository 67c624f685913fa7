import { expect } from 'chai';
import Fastify from 'fastify';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { ensureAdminKey } from '../../src/auth/ensure-admin-key';
import type { McpGateway } from '../../src/mcp/gateway';
import {
  ConflictApiError,
  ForbiddenApiError,
  NotFoundApiError,
  OpenMcpClient,
  RateLimitedApiError,
  UnauthenticatedApiError,
  UnavailableApiError,
  ValidationApiError,
} from '../../src/sdk';
import { makeGatewayHarness } from '../api/support/gateway-harness';
import { makeHarness, type Harness } from '../api/support/harness';
import { roomInRateWindow } from '../support/rate-window';

async function rejects<T>(p: Promise<unknown>, cls: new (...a: never[]) => T): Promise<T> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(cls);
    return err as T;
  }
  throw new Error('expected a rejection');
}

describe('SDK round-trips every route against a listening server', function () {
  this.timeout(30_000);
  let h: Harness;
  let gw: McpGateway;
  let close: () => Promise<void>;
  let upstream: HttpExample;
  let baseUrl: string;
  let admin: OpenMcpClient;

  before(async () => {
    upstream = await startHttpExample();
    ({ h, gw, close } = await makeGatewayHarness());
    baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const { key } = await ensureAdminKey({ OPENMCP_ADMIN_KEY: 'sdk-test-bootstrap-admin-key', dataDir: '/nonexistent' }, h.keys);
    admin = new OpenMcpClient({ baseUrl, apiKey: key, requestId: () => 'sdk-req' });
  });
  after(async () => {
    await close();
    await upstream.close();
  });

  it('system: health, ready, metrics, openapi', async () => {
    expect(await admin.health()).to.deep.equal({ status: 'ok' });
    expect((await admin.ready()).status).to.equal('ready');
    expect(await admin.metrics()).to.include('openmcp_http_request_duration_seconds');
    expect((await admin.openapi()).openapi).to.be.a('string');
  });

  it('keys: create, list, revoke; the new key authenticates until revoked', async () => {
    const created = await admin.keys.create({ role: 'operator', tenant: 'acme', name: 'sdk' });
    const op = new OpenMcpClient({ baseUrl, apiKey: created.key });
    expect((await op.tasks.list()).items).to.be.an('array');
    const listed = await admin.keys.list({ tenant: 'acme' });
    expect(listed.items.map((k) => k.id)).to.include(created.id);
    await admin.keys.revoke(created.id);
    await rejects(op.tasks.list(), UnauthenticatedApiError);
    await rejects(admin.keys.revoke(created.id), ConflictApiError);
  });

  it("keys.revoke and mcpServers.remove retried after an answer that was lost resolve: the lost attempt did it (a revoked key's, a removed server's 409 INVALID_TRANSITION on the retry); a first answer still throws, and so does a mistyped id on a retry (it resolved: the 404 was taken for a removal)", async () => {
    // The request reaches the server and is applied; its answer is lost on the way back.
    let lose = 1;
    const losing: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'DELETE' && lose-- > 0) throw new TypeError('fetch failed (answer lost)');
      return res;
    };
    const flaky = new OpenMcpClient({ ...admin.options, fetch: losing, maxRetryDelayMs: 1 });
    const created = await admin.keys.create({ role: 'viewer', tenant: 'acme' });
    await flaky.keys.revoke(created.id);
    expect((await h.store.readStream(`apikey-${created.id}`)).map((e) => e.type)).to.deep.equal(['ApiKeyCreated', 'ApiKeyRevoked']);
    await rejects(flaky.keys.revoke(created.id), ConflictApiError);

    const server = await admin.mcpServers.register({ name: 'lostanswer', transport: 'http', url: upstream.url });
    lose = 1;
    await flaky.mcpServers.remove(server.id);
    expect((await admin.mcpServers.list()).map((x) => x.id)).not.to.include(server.id);
    expect((await h.store.readStream(`mcpserver-${server.id}`)).filter((e) => e.type === 'McpServerRemoved')).to.have.length(1);
    await rejects(flaky.mcpServers.remove(server.id), ConflictApiError);
    // A typo: its first answer (404) lost, the retry's 404 is no removal.
    lose = 1;
    await rejects(flaky.mcpServers.remove('0193a0c0-0000-7000-8000-00000000beef'), NotFoundApiError);
  });

  it('keys.setAgents: a list, null for any agent; typed errors for bad input and a revoked key', async () => {
    const created = await admin.keys.create({ role: 'agent', tenant: 'acme', agents: ['sdk-bot'] });
    const changed = await admin.keys.setAgents(created.id, ['sdk-bot', 'other-bot']);
    expect(changed).to.include({ id: created.id, role: 'agent' });
    expect(changed.agents).to.deep.equal(['sdk-bot', 'other-bot']);
    expect(changed).not.to.have.property('key');
    const any = await admin.keys.setAgents(created.id, null);
    expect(any).not.to.have.property('agents');
    const bad = await rejects(admin.keys.setAgents(created.id, ['*']), ValidationApiError);
    expect(bad.field).to.equal('body.agents.0');
    await admin.keys.revoke(created.id);
    await rejects(admin.keys.setAgents(created.id, ['sdk-bot']), ConflictApiError);
  });

  it('tasks: submit, get, list (all pages), events, cancel, approve (501 typed), and typed 4xx', async () => {
    const { key } = await admin.keys.create({ role: 'operator', tenant: 'acme' });
    const op = new OpenMcpClient({ baseUrl, apiKey: key, requestId: () => 'sdk-corr' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await op.tasks.submit({ steps: [{ tool: 'examples__echo', arguments: { i } }], agentId: 'sdk' })).id);
    const t = await op.tasks.get(ids[0]);
    expect(t.status).to.equal('submitted');
    const seen: string[] = [];
    for await (const task of op.tasks.all({ agentId: 'sdk', limit: 2 })) seen.push(task.id);
    expect(seen).to.have.members(ids);
    const trail = await op.tasks.events(ids[0]);
    expect(trail.items[0].correlationId).to.equal('sdk-corr');
    expect((await op.tasks.cancel(ids[1], 'done')).status).to.equal('cancelled');
    // Idempotent: a second cancel answers the same; a completed or failed task would be a 409.
    expect((await op.tasks.cancel(ids[1])).status).to.equal('cancelled');
    const notImpl = await rejects(op.tasks.approve(ids[0], { proposalHash: `0x${'a'.repeat(64)}`, decision: 'approve' }), Error);
    expect((notImpl as unknown as { code: string }).code).to.equal('NOT_IMPLEMENTED');
    const v = await rejects(op.tasks.submit({} as never), ValidationApiError);
    expect(v.field).to.equal('body.instruction');
    await rejects(op.tasks.get('01900000-0000-7000-8000-000000000000'), NotFoundApiError);
    const viewer = new OpenMcpClient({ baseUrl, apiKey: (await admin.keys.create({ role: 'viewer', tenant: 'acme' })).key });
    await rejects(viewer.tasks.submit({ instruction: 'x' }), ForbiddenApiError);
  });

  it('events, proofs and batches', async () => {
    const page = await admin.events.list({ type: 'TaskSubmitted', limit: 2 });
    expect(page.items).to.have.length(2);
    expect(page.nextCursor).to.be.a('string');
    const next = await admin.events.list({ type: 'TaskSubmitted', limit: 2, cursor: page.nextCursor });
    expect(next.items[0].position).to.be.greaterThan(page.items[1].position);
    const e = await admin.events.get(page.items[0].id);
    expect(e.hash).to.equal(page.items[0].hash);
    h.proofs.anchoredBelow = 0;
    const pending = await rejects(admin.events.proof(e.id), ConflictApiError);
    expect(pending.code).to.equal('PROOF_PENDING');
    expect(pending.retryAfterSeconds).to.equal(7);
    h.proofs.anchoredBelow = 1e9;
    expect((await admin.events.proof(e.id)).format).to.equal('openmcp-proof/1');
    expect((await admin.batches.list()).items[0].id).to.equal(0);
    expect((await admin.batches.get(0)).root).to.match(/^0x/);
    expect((await admin.batches.events(0)).events).to.be.an('array');
    await rejects(admin.batches.get(42), NotFoundApiError);
  });

  it('MCP servers and tools', async () => {
    const s = await admin.mcpServers.register({ name: 'sdkremote', transport: 'http', url: upstream.url });
    expect((await admin.mcpServers.list()).map((x) => x.id)).to.include(s.id);
    const hits = await admin.tools.search('echo', 3);
    expect(hits.map((x) => x.name)).to.include('sdkremote__echo');
    await admin.mcpServers.remove(s.id);
    await rejects(admin.mcpServers.remove(s.id), ConflictApiError);
  });

  it('retries 429 and 503 (GET) with Retry-After, not 503 on POST; gives a typed error when retries run out', async () => {
    const flaky = Fastify();
    let gets = 0;
    let posts = 0;
    flaky.get('/healthz', async (_req, reply) => {
      gets++;
      if (gets <= 2) return reply.code(gets === 1 ? 429 : 503).header('retry-after', '0').type('application/problem+json').send({ type: 'x', title: 't', status: gets === 1 ? 429 : 503, code: gets === 1 ? 'RATE_LIMITED' : 'DEPENDENCY_UNAVAILABLE' });
      return { status: 'ok' };
    });
    flaky.post('/v1/tasks', async (_req, reply) => {
      posts++;
      return reply.code(503).type('application/problem+json').send({ type: 'x', title: 't', status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    });
    const url = await flaky.listen({ host: '127.0.0.1', port: 0 });
    try {
      const c = new OpenMcpClient({ baseUrl: url, maxRetryDelayMs: 20 });
      expect(await c.health()).to.deep.equal({ status: 'ok' });
      expect(gets).to.equal(3);
      await rejects(c.tasks.submit({ instruction: 'x' }), UnavailableApiError);
      expect(posts).to.equal(1);
      // The window is the clock's minute: the two lists below, within one.
      await roomInRateWindow(10_000);
      const limited = await makeHarness({ rateLimit: { perKeyPerMinute: 1, perTenantPerMinute: 100 } });
      try {
        const lurl = await limited.app.listen({ host: '127.0.0.1', port: 0 });
        const lc = new OpenMcpClient({ baseUrl: lurl, apiKey: (await limited.key('viewer', 'acme')).key, retries: 1, maxRetryDelayMs: 10 });
        await lc.tasks.list();
        const err = await rejects(lc.tasks.list(), RateLimitedApiError);
        expect(err.retryAfterSeconds).to.be.within(1, 60);
      } finally {
        await limited.close();
      }
    } finally {
      await flaky.close();
    }
  });
});
