import { expect } from 'chai';
import { Registry } from 'prom-client';
import { McpGateway } from '../../src/mcp/gateway';
import { startBehaviourUpstream, type BehaviourUpstream } from './support/behaviour-upstream';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const system = { kind: 'system' as const, id: 'openmcp' };
const ctxOf = (tenant: string) => ({ tenant, actor: { kind: 'agent' as const, id: `${tenant}-bot` } });
const acme = ctxOf('acme');
const beta = ctxOf('beta');

/**
 * A shared server's breaker (tenant `*`: every tenant calls it): the calls of one tenant that time
 * out open that tenant's circuit only (before: the server's, for every tenant, and the server was
 * recorded down), while the upstream being really down (its connection refused) still fails every
 * tenant fast and is recorded down once, and recovers for all. A tenant's own server keeps one breaker.
 */
describe("MCP gateway: a shared server's circuit breaker is per tenant for the calls' own timeouts", function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let upstream: BehaviourUpstream;
  let serverId: string;
  let registry: Registry;
  let warnings: { obj: unknown; msg?: string }[];

  /** A gateway whose breakers count failures over `windowMs`; opened, they stay so for a minute. */
  async function startGateway(windowMs: number, resetTimeoutMs = 60_000, o: { healthIntervalMs?: number; callTimeoutMs?: number } = {}) {
    await gateway?.close();
    registry = new Registry();
    warnings = [];
    gateway = new McpGateway({
      store: db.store,
      registry,
      logger: { warn: (obj, msg) => void warnings.push({ obj, msg }) },
      upstream: { healthIntervalMs: o.healthIntervalMs ?? 0, callTimeoutMs: o.callTimeoutMs ?? 1_500, retries: 0, breaker: { errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs, rollingCountTimeoutMs: windowMs } },
    });
    await gateway.start();
  }

  beforeEach(async function () {
    db = await openTempSqliteStore();
    await startGateway(60_000);
    upstream = await startBehaviourUpstream();
    serverId = (await gateway.registerServer({ tenant: '*', actor: system, name: 'beh', transport: 'http', url: upstream.url })).id;
  });

  afterEach(async function () {
    await gateway?.close();
    await upstream?.close();
    await db?.cleanup();
  });

  const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));
  /** A call that answers at once, or one that outlives the call timeout (1.5 s). */
  const quick = (ctx: typeof acme, id: string) => codeOf(gateway.callTool(ctx, 'beh__hold', { id, ms: 1 }));
  const slow = (ctx: typeof acme, id: string) => codeOf(gateway.callTool(ctx, 'beh__hold', { id, ms: 20_000 }));
  const healthEvents = async () =>
    (await db.store.readStream(`mcpserver-${serverId}`)).filter((e) => e.type === 'McpServerHealthChanged').map((e) => (e.data as { status: string }).status);
  const shown = (view: Parameters<McpGateway['status']>[0]) => gateway.status(view).upstreams.find((u) => u.id === serverId)!;

  it("a tenant's calls that time out open its own circuit: another tenant's calls still go through, and nothing records the server down", async () => {
    expect(await Promise.all([1, 2, 3].map((i) => slow(acme, `a${i}`)))).to.deep.equal(Array(3).fill('MCP_UPSTREAM_TIMEOUT'));
    const refused = await gateway.callTool(acme, 'beh__hold', { id: 'a-more', ms: 1 }).catch((e: Error) => e);
    expect((refused as Error).message).to.match(/this tenant's calls/);

    expect(await quick(beta, 'b1'), "beta's call on the same server").to.equal('ok');
    expect(upstream.started).to.include('b1');
    expect(await healthEvents(), 'health as recorded').to.not.include('down');
    expect(gateway.listServers('beta').find((s) => s.id === serverId)!.health).to.equal('up');

    // Each tenant sees its own circuit; an operator's view (no tenant) the server's, with a count.
    expect(shown({ tenant: 'acme' })).to.include({ circuit: 'open' });
    expect(shown({ tenant: 'beta' })).to.include({ circuit: 'closed' });
    expect(shown({ tenant: 'acme' })).to.not.have.property('tenantCircuitsOpen');
    expect(shown(undefined)).to.include({ circuit: 'closed', tenantCircuitsOpen: 1 });
    // The operator's log says which tenant (nothing is recorded in the event log).
    expect(warnings.filter((w) => /a tenant's circuit opened/.test(w.msg ?? '')).map((w) => w.obj)).to.deep.equal([{ serverId, server: 'beh', tenant: 'acme' }]);
    // /metrics counts them per shared server, naming no tenant.
    const metrics = await registry.metrics();
    expect(metrics).to.include('openmcp_mcp_tenant_circuits_open{server="beh"} 1');
    expect(metrics).to.not.match(/acme/);
  });

  it('the upstream really down (connection refused) fails every tenant fast, is recorded down once, and recovers for all', async () => {
    const port = Number(new URL(upstream.url).port);
    await upstream.close();
    const codes: string[] = [];
    for (let i = 0; i < 6 && codes.at(-1) !== 'MCP_CIRCUIT_OPEN'; i++) codes.push(await quick(acme, `a${i}`));
    expect(codes[0]).to.equal('MCP_UPSTREAM_UNAVAILABLE');
    expect(codes.at(-1), `acme's calls: ${codes.join(', ')}`).to.equal('MCP_CIRCUIT_OPEN');
    // Beta never called: the server's circuit is open for it too, without a timeout or a connect of its own.
    expect(await quick(beta, 'b1')).to.equal('MCP_CIRCUIT_OPEN');
    expect(shown({ tenant: 'beta' })).to.include({ circuit: 'open' });
    expect(shown(undefined)).to.include({ circuit: 'open', tenantCircuitsOpen: 0 });
    expect(await healthEvents()).to.include('down');

    upstream = await startBehaviourUpstream({ port });
    await gateway.checkHealth();
    expect(await quick(beta, 'b2')).to.equal('ok');
    expect(await quick(acme, 'a-back')).to.equal('ok');
    expect(shown({ tenant: 'acme' })).to.include({ circuit: 'closed' });
    expect((await healthEvents()).slice(-2)).to.deep.equal(['down', 'up']);
  });

  it("a failed health check opens the server's circuit for every tenant at once (its calls' timeouts no longer do), and one answered closes it", async () => {
    const port = Number(new URL(upstream.url).port);
    await upstream.close();
    await gateway.checkHealth();
    expect(await healthEvents()).to.include('down');
    // No call of any tenant had failed: a server that hangs or is gone refuses every tenant fast.
    expect(await quick(beta, 'b1')).to.equal('MCP_CIRCUIT_OPEN');
    expect(shown({ tenant: 'acme' })).to.include({ circuit: 'open' });
    upstream = await startBehaviourUpstream({ port });
    await gateway.checkHealth();
    expect(shown({ tenant: 'acme' })).to.include({ circuit: 'closed' });
    expect(await quick(beta, 'b2')).to.equal('ok');
  });

  it("a tenant's call that times out as the server's half-open circuit lets it through does not close that circuit (nor record the server up)", async () => {
    await startGateway(60_000, 300);
    await until('connected', () => gateway.status().upstreams.some((x) => x.id === serverId && x.health === 'up'));
    const port = Number(new URL(upstream.url).port);
    await upstream.close();
    await gateway.checkHealth();
    expect(shown(undefined)).to.include({ circuit: 'open' });
    upstream = await startBehaviourUpstream({ port });
    await until('half-open', () => shown(undefined).circuit === 'half-open', 5_000);
    // The one call the half-open circuit lets through gives no answer: nothing says the server is back.
    expect(await slow(acme, 'probe')).to.equal('MCP_UPSTREAM_TIMEOUT');
    expect(shown(undefined).circuit, "the server's circuit").to.not.equal('closed');
    expect((await healthEvents()).at(-1), 'health as recorded').to.equal('down');
    // A health check the server answers closes it, for every tenant.
    await gateway.checkHealth();
    expect(shown(undefined)).to.include({ circuit: 'closed' });
    expect(await quick(beta, 'b1')).to.equal('ok');
  });

  /** A call of `ctx` that holds until its caller cancels it, once the upstream has started it. */
  async function cancelled(ctx: typeof acme, tool: string, id: string) {
    const ac = new AbortController();
    const call = codeOf(gateway.callTool(ctx, tool, { id, ms: 20_000 }, { signal: ac.signal }));
    await until(`the upstream started ${id}`, () => upstream.started.includes(id));
    ac.abort();
    return call;
  }

  it("a call its caller cancels as the server's half-open circuit lets it through does not close that circuit: a health check decides at once", async () => {
    // Health checks on (the first periodic one a minute away): the cancel's runs at once.
    await startGateway(60_000, 300, { healthIntervalMs: 60_000 });
    await until('connected', () => gateway.status().upstreams.some((x) => x.id === serverId && x.health === 'up'));
    const port = Number(new URL(upstream.url).port);
    await upstream.close();
    await gateway.checkHealth();
    upstream = await startBehaviourUpstream({ port });
    // It runs tools but answers no ping: nothing but the cancelled call could close the circuit.
    upstream.holdPings(true);
    await until('half-open', () => shown(undefined).circuit === 'half-open', 5_000);
    expect(await cancelled(acme, 'beh__hold', 'probe')).to.equal('MCP_CALL_CANCELLED');
    expect(shown(undefined).circuit, "the server's circuit, as the cancel left it").to.equal('open');
    // The health check the cancel started finds no answer: the server is recorded down again.
    await until('the server recorded down again', async () => (await healthEvents()).at(-1) === 'down', 8_000);
    expect(shown(undefined).circuit).to.not.equal('closed');
    upstream.holdPings(false);
    await gateway.checkHealth();
    expect(shown(undefined)).to.include({ circuit: 'closed' });
    expect(await quick(beta, 'b1')).to.equal('ok');
  });

  it("with health checks off (MCP_HEALTH_INTERVAL_MS=0) a cancelled call through the half-open circuit checks nothing: the circuit stays open for its next call through", async () => {
    await startGateway(60_000, 300);
    await until('connected', () => gateway.status().upstreams.some((x) => x.id === serverId && x.health === 'up'));
    const port = Number(new URL(upstream.url).port);
    await upstream.close();
    await gateway.checkHealth();
    upstream = await startBehaviourUpstream({ port });
    await until('half-open', () => shown(undefined).circuit === 'half-open', 5_000);
    expect(await cancelled(acme, 'beh__hold', 'probe')).to.equal('MCP_CALL_CANCELLED');
    expect(shown(undefined).circuit).to.equal('open');
    // The next call through is answered: it closes the circuit, and nothing but it was sent.
    await until('half-open again', () => shown(undefined).circuit === 'half-open', 5_000);
    expect(await quick(beta, 'b1')).to.equal('ok');
    expect(shown(undefined).circuit).to.equal('closed');
    expect(upstream.pings, 'health checks sent').to.equal(0);
  });

  it("a storm of cancelled calls through the half-open circuit starts one health check at a time, not one per cancel", async () => {
    // The ping waits 5 s (its timeout) unanswered, while the circuit half-opens every 300 ms.
    await startGateway(60_000, 300, { healthIntervalMs: 60_000, callTimeoutMs: 5_000 });
    await until('connected', () => gateway.status().upstreams.some((x) => x.id === serverId && x.health === 'up'));
    const port = Number(new URL(upstream.url).port);
    await upstream.close();
    await gateway.checkHealth();
    upstream = await startBehaviourUpstream({ port });
    upstream.holdPings(true);
    for (let i = 0; i < 3; i++) {
      await until(`half-open (${i})`, () => shown(undefined).circuit === 'half-open', 5_000);
      expect(await cancelled(acme, 'beh__hold', `probe${i}`)).to.equal('MCP_CALL_CANCELLED');
    }
    expect(upstream.pings, 'health checks sent while the first waits for its answer').to.equal(1);
    upstream.holdPings(false);
    await until('the circuit closed by the health check answered', () => shown(undefined).circuit === 'closed', 8_000);
  });

  it("a tenant's own circuit on a shared server: its call cancelled as the half-open circuit lets it through leaves it open; an answer closes it", async () => {
    await startGateway(60_000, 300);
    expect(await Promise.all([1, 2, 3].map((i) => slow(acme, `a${i}`)))).to.deep.equal(Array(3).fill('MCP_UPSTREAM_TIMEOUT'));
    await until("acme's circuit half-open", () => shown({ tenant: 'acme' }).circuit === 'half-open', 5_000);
    expect(await cancelled(acme, 'beh__hold', 'probe')).to.equal('MCP_CALL_CANCELLED');
    expect(shown({ tenant: 'acme' }).circuit, "acme's circuit, as the cancel left it").to.equal('open');
    expect(warnings.filter((w) => /a tenant's circuit opened/.test(w.msg ?? '')), 'opened again: no new warning').to.have.length(1);
    await until("acme's circuit half-open again", () => shown({ tenant: 'acme' }).circuit === 'half-open', 5_000);
    expect(await quick(acme, 'a-back')).to.equal('ok');
    expect(shown({ tenant: 'acme' }).circuit).to.equal('closed');
  });

  it("a tenant's own server: a call cancelled as its half-open circuit lets it through does not close it, and records nothing up", async () => {
    await startGateway(60_000, 300);
    const own = (await gateway.registerServer({ ...acme, name: 'mine', transport: 'http', url: upstream.url })).id;
    const ownCircuit = () => gateway.status({ tenant: 'acme' }).upstreams.find((x) => x.id === own)!.circuit;
    const ownHealth = async () => (await db.store.readStream(`mcpserver-${own}`)).filter((e) => e.type === 'McpServerHealthChanged').map((e) => (e.data as { status: string }).status);
    expect(await Promise.all([1, 2, 3].map((i) => codeOf(gateway.callTool(acme, 'mine__hold', { id: `m${i}`, ms: 20_000 }))))).to.deep.equal(Array(3).fill('MCP_UPSTREAM_TIMEOUT'));
    expect((await ownHealth()).at(-1)).to.equal('down');
    upstream.holdPings(true);
    await until('half-open', () => ownCircuit() === 'half-open', 5_000);
    expect(await cancelled(acme, 'mine__hold', 'probe')).to.equal('MCP_CALL_CANCELLED');
    expect(ownCircuit(), 'its circuit, as the cancel left it').to.equal('open');
    await gateway.checkHealth();
    expect(ownCircuit()).to.not.equal('closed');
    expect((await ownHealth()).at(-1), 'health as recorded').to.equal('down');
    upstream.holdPings(false);
    await gateway.checkHealth();
    expect(ownCircuit()).to.equal('closed');
    expect((await ownHealth()).at(-1)).to.equal('up');
  });

  it("keeps a tenant's breaker only while it has calls in flight or failures in its window: 500 tenants' calls leave none behind", async () => {
    await startGateway(1_000);
    await until('connected', () => gateway.status().upstreams.some((x) => x.id === serverId && x.health === 'up'));
    const u = gateway.upstream(serverId)!;
    const tenants = Array.from({ length: 500 }, (_, i) => ctxOf(`t${i}`));
    for (let i = 0; i < tenants.length; i += 20) {
      const batch = await Promise.all(tenants.slice(i, i + 20).map((t) => quick(t, t.tenant)));
      expect(batch.filter((c) => c !== "ok")).to.deep.equal([]);
    }
    expect(u.tenantBreakers, 'breakers kept at most while the window turns').to.be.at.most(tenants.length);
    await until('every breaker is dropped', () => u.tenantBreakers === 0, 5_000);
  });

  it('drops a tenant breaker once its failures have left the rolling window, not before; an open one stays open', async () => {
    // A window longer than a call: a call's fire is counted when it starts, its failure when it ends.
    await startGateway(4_000);
    await until('connected', () => gateway.status().upstreams.some((x) => x.id === serverId && x.health === 'up'));
    const u = gateway.upstream(serverId)!;
    expect(await slow(beta, 'b1')).to.equal('MCP_UPSTREAM_TIMEOUT');
    expect(u.tenantBreakers).to.equal(1);
    expect(await Promise.all([1, 2, 3].map((i) => slow(acme, `a${i}`)))).to.deep.equal(Array(3).fill('MCP_UPSTREAM_TIMEOUT'));
    await until("beta's breaker is dropped", () => u.tenantBreakers === 1, 15_000);
    expect(u.circuitFor('acme')).to.equal('open');
    expect(await quick(acme, 'a4')).to.equal('MCP_CIRCUIT_OPEN');
  });

  it("a tenant's own server's failed health check records it down without opening its circuit, as before", async () => {
    const own = (await gateway.registerServer({ ...acme, name: 'mine', transport: 'http', url: upstream.url })).id;
    await upstream.close();
    await gateway.checkHealth();
    expect(gateway.listServers('acme').find((s) => s.id === own)!.health).to.equal('down');
    expect(gateway.status({ tenant: 'acme' }).upstreams.find((x) => x.id === own)).to.include({ circuit: 'closed' });
    // Its next call still tries the upstream (and is told why it failed), not refused by a circuit.
    expect(await codeOf(gateway.callTool(acme, 'mine__hold', { id: 'm1', ms: 1 }))).to.equal('MCP_UPSTREAM_UNAVAILABLE');
  });

  it("a tenant's own server keeps one breaker: its timeouts open it and record the server down, as before", async () => {
    const own = (await gateway.registerServer({ ...acme, name: 'mine', transport: 'http', url: upstream.url })).id;
    expect(await Promise.all([1, 2, 3].map((i) => codeOf(gateway.callTool(acme, 'mine__hold', { id: `m${i}`, ms: 20_000 }))))).to.deep.equal(Array(3).fill('MCP_UPSTREAM_TIMEOUT'));
    expect(await codeOf(gateway.callTool(acme, 'mine__hold', { id: 'm4', ms: 1 }))).to.equal('MCP_CIRCUIT_OPEN');
    expect(gateway.upstream(own)!.tenantBreakers).to.equal(0);
    expect(gateway.status({ tenant: 'acme' }).upstreams.find((x) => x.id === own)).to.include({ circuit: 'open' });
    const health = (await db.store.readStream(`mcpserver-${own}`)).filter((e) => e.type === 'McpServerHealthChanged').map((e) => (e.data as { status: string }).status);
    expect(health).to.include('down');
  });
});
