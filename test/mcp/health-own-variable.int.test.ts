import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { ownVariablesReadiness } from '../../src/app/own-variables-readiness';
import { startQueryKeyUpstream, type BearerUpstream } from './support/bearer-upstream';
import { until } from './support/until';
import { rejection } from './support/rejection';

const ctx = { tenant: 'acme', actor: { kind: 'user' as const, id: 'alice' } };
const SECRET = `sk-test-${Math.random().toString(36).slice(2)}-secret`;
const VAR = `OMC_TEST_OWN_VAR_${process.pid}`;

describe('MCP gateway: a replica lacking a variable a server refers to (${env:NAME}) records no health of it', function () {
  this.timeout(60_000);
  let dir: string;
  let storeUrl: string;
  let upstream: BearerUpstream;
  const keys = new Set<string>();
  const opened: { gw: McpGateway; store: EventStore }[] = [];
  const logged: [unknown, string | undefined][] = [];
  type Logger = { warn(o: unknown, m?: string): void; info(o: unknown, m?: string): void; debug(o: unknown, m?: string): void };
  const quiet: Logger = { warn: () => {}, info: () => {}, debug: () => {} };
  const watched: Logger = { warn: (o, m) => void logged.push([o, m]), info: () => {}, debug: () => {} };

  const openGateway = async (logger: Logger): Promise<McpGateway> => {
    const store = await openSqlEventStore(storeUrl, { pollIntervalMs: 50 });
    const gw = new McpGateway({ store, cacheTtlMs: 0, logger, upstream: { healthIntervalMs: 0, retries: 0, connectTimeoutMs: 5_000 } });
    await gw.start();
    opened.push({ gw, store });
    return gw;
  };
  const healthEvents = async () => (await opened[0].store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerHealthChanged').map((e) => ({ status: e.data.status, actor: e.actor.id, data: e.data }));

  before(async () => {
    upstream = await startQueryKeyUpstream('api_key', keys);
  });
  after(async () => upstream?.close());
  beforeEach(() => {
    process.env[VAR] = SECRET;
    keys.clear();
    keys.add(SECRET);
    logged.length = 0;
    dir = mkdtempSync(join(tmpdir(), 'omc-ownvar-'));
    storeUrl = `sqlite:${join(dir, 'events.db')}`;
  });
  afterEach(async () => {
    delete process.env[VAR];
    for (const o of opened.splice(0)) {
      await o.gw.close();
      await o.store.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("records no down: the other replica's up stands; its own calls and status say why, naming the variable; one warning", async () => {
    const a = await openGateway(quiet);
    const s = await a.registerServer({ ...ctx, name: 'hosted', transport: 'http', url: `${upstream.url}?api_key=\${env:${VAR}}` });
    expect(s.health, s.healthReason).to.equal('up');

    // `openmcp mcp stdio` started by a host that gave it only its key and DATA_DIR.
    delete process.env[VAR];
    const b = await openGateway(watched);
    await until('the replica tries it', () => b.upstream(s.id)?.health === 'down');
    for (let i = 0; i < 3; i++) await b.checkHealth();
    const err = await rejection(b.callTool(ctx, 'hosted__echo', { text: 'from b' }));
    expect(err.code).to.equal('MCP_UPSTREAM_UNAVAILABLE');
    expect(err.message).to.include(`environment variable ${VAR} is not set`);
    expect(b.status().upstreams.find((u) => u.id === s.id)?.health).to.equal('down');

    // Whatever b appended would be in the log once its queue has run (close waits for it).
    await b.close();
    expect((await healthEvents()).map((e) => e.status)).to.deep.equal(['up']);
    expect(b.listServers('acme')[0].health).to.equal('up');
    expect(a.listServers('acme')[0].health).to.equal('up');
    const warnings = logged.filter(([o]) => (o as { variable?: string }).variable === VAR);
    expect(warnings).to.have.length(1);
    expect(warnings[0][1]).to.include(VAR).and.include('not recorded');
    expect(JSON.stringify(logged)).to.not.include(SECRET);
    // The other replica still answers calls.
    expect((await a.callTool(ctx, 'hosted__echo', { text: 'from a' })).content).to.deep.equal([{ type: 'text', text: 'from a' }]);
  });

  it("says so on its own /readyz line (degraded, MCP_SECRET_MISSING, how many: /readyz is public, so never which server, nor the variable, nor a value) and names them in its own view (status: the dashboard's MCP page), until given the variable", async () => {
    const a = await openGateway(quiet);
    const s = await a.registerServer({ ...ctx, name: 'hosted', transport: 'http', url: `${upstream.url}?api_key=\${env:${VAR}}` });
    expect(await ownVariablesReadiness(a).check()).to.deep.include({ state: 'up' });
    delete process.env[VAR];
    const b = await openGateway(quiet);
    await until('the replica tries it', () => b.upstream(s.id)?.health === 'down');
    const check = ownVariablesReadiness(b);
    const seen = await check.check();
    expect(seen.state, seen.detail).to.equal('degraded');
    expect(seen.detail).to.include('MCP_SECRET_MISSING: 1 server unreachable from this replica only');
    // A tenant's server: its name, id and the variable its registration names are the tenant's, not the public's.
    for (const kept of ['hosted', s.id, VAR, SECRET]) expect(seen.detail).to.not.include(kept);
    expect(b.status().upstreams.find((u) => u.id === s.id)).to.deep.include({ variableMissingHere: VAR });
    expect(a.status().upstreams.find((u) => u.id === s.id)).to.not.have.property('variableMissingHere');
    // Each check reads the replica's own view: it tells every scrape, and records nothing.
    for (let i = 0; i < 3; i++) await b.checkHealth();
    expect((await check.check()).state).to.equal('degraded');
    expect(await ownVariablesReadiness(a).check()).to.deep.include({ state: 'up' });
    process.env[VAR] = SECRET;
    await b.checkHealth();
    expect(await check.check()).to.deep.include({ state: 'up' });
    expect(b.status().upstreams.find((u) => u.id === s.id)).to.not.have.property('variableMissingHere');
    await b.close();
    // B's view went up where the log says up already (A's): nothing to record (it recorded a second up).
    expect((await healthEvents()).map((e) => e.status)).to.deep.equal(['up']);
  });

  it('the same registration sent again to a replica lacking the variable answers down, naming it (nothing recorded)', async () => {
    const a = await openGateway(quiet);
    const p = { ...ctx, name: 'hosted', transport: 'http' as const, url: `${upstream.url}?api_key=\${env:${VAR}}` };
    const s = await a.registerServer(p);
    expect(s.health, s.healthReason).to.equal('up');
    delete process.env[VAR];
    const b = await openGateway(quiet);
    await until('the replica tries it', () => b.upstream(s.id)?.health === 'down');
    // POST /v1/mcp-servers sent again (its first answer lost): the same server, as this replica sees it.
    const { server: again, existed } = await b.registerOrMatch(p);
    expect(existed).to.equal(true);
    expect(again.id).to.equal(s.id);
    expect(again.health).to.equal('down');
    expect(again.healthReason).to.include(`environment variable ${VAR} is not set`);
    await b.close();
    expect((await healthEvents()).map((e) => e.status)).to.deep.equal(['up']);
  });

  it('given the variable, it connects, records as any replica and answers up again', async () => {
    const a = await openGateway(quiet);
    const p = { ...ctx, name: 'hosted', transport: 'http' as const, url: `${upstream.url}?api_key=\${env:${VAR}}` };
    const s = await a.registerServer(p);
    delete process.env[VAR];
    const b = await openGateway(quiet);
    await until('the replica tries it', () => b.upstream(s.id)?.health === 'down');
    expect((await b.registerOrMatch(p)).server.health).to.equal('down');
    process.env[VAR] = SECRET;
    await b.checkHealth();
    expect(b.upstream(s.id)?.health).to.equal('up');
    const again = await b.registerOrMatch(p);
    expect(again.server.health, again.server.healthReason).to.equal('up');
    await b.close();
    // B's view went up where the log says up already (A's): nothing to record (it recorded a second up).
    expect((await healthEvents()).map((e) => e.status)).to.deep.equal(['up']);
  });

  it('a down this replica recorded for another reason stays: failing then on a missing variable sets nothing right', async () => {
    const a = await openGateway(quiet);
    const s = await a.registerServer({ ...ctx, name: 'hosted', transport: 'http', url: `${upstream.url}?api_key=\${env:${VAR}}` });
    // The upstream refuses the key now (401): a down of the server's, recorded.
    keys.clear();
    await a.checkHealth();
    await until('the down is recorded', () => a.listServers('acme')[0].health === 'down');
    // This replica's variable goes: it cannot reach the server either way, and records nothing more.
    delete process.env[VAR];
    keys.add(SECRET);
    for (let i = 0; i < 3; i++) await a.checkHealth();
    expect(a.upstream(s.id)?.health).to.equal('down');
    await a.close();
    expect((await healthEvents()).map((e) => e.status)).to.deep.equal(['up', 'down']);
  });
});
