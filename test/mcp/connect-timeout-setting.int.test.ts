/**
 * MCP_CONNECT_TIMEOUT_MS bounds how long the gateway waits for an upstream to connect (a stdio
 * server's start, initialize, its first tools/list): it was a fixed 10 s, so a server slow to
 * start (`npx -y` downloading first, a Python server importing a lot) was down until the next try.
 * No clocks here: the slow server answers only when the test opens its gate, and the larger bound
 * is shown by a server that connects after a gateway with the lower one has given up on its own.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway } from '../../src/app/gateway';
import { MemoryCache } from '../../src/cache/memory';
import { loadConfig } from '../../src/config';
import { MCP_SERVER_STREAM_PREFIX } from '../../src/mcp/catalog';
import type { McpGateway } from '../../src/mcp/gateway';
import { hasSettled } from './support/has-settled';
import { GATED_START_SERVER } from './support/gated-start-server';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };

describe('MCP_CONNECT_TIMEOUT_MS: the bound on connecting to an upstream follows the setting', function () {
  this.timeout(120_000);
  const stores: Awaited<ReturnType<typeof openTempSqliteStore>>[] = [];
  const gateways: McpGateway[] = [];
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-connect-'));
  });
  after(async () => {
    for (const g of gateways) await g.close();
    for (const s of stores) await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A gateway as `openmcp start` builds it, from these settings. */
  const gateway = async (env: Record<string, string>) => {
    const db = await openTempSqliteStore();
    stores.push(db);
    const gw = await createGateway({ config: loadConfig({ DATA_DIR: db.dir, MCP_HEALTH_INTERVAL_MS: '0', ...env }, '/x'), store: db.store, cache: new MemoryCache() });
    gateways.push(gw);
    await gw.start();
    return gw;
  };
  /** A stdio server that starts, then answers nothing (initialize included) until its gate is opened. */
  const gated = (name: string) => {
    const started = join(dir, `${name}.started`);
    const gate = join(dir, `${name}.gate`);
    return {
      started,
      open: () => writeFileSync(gate, ''),
      spec: { ...ctx, name, transport: 'stdio' as const, command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), GATED_START_SERVER, started, gate] },
    };
  };

  it('a server slower to start than the setting is down, naming the bound; one under a larger setting waits past it and connects', async () => {
    const patient = await gateway({ MCP_CONNECT_TIMEOUT_MS: '300000' });
    const hasty = await gateway({ MCP_CONNECT_TIMEOUT_MS: '1000' });
    const slow = gated('slow');
    const slower = gated('slower');
    // The patient gateway's server starts first and is kept waiting…
    const connecting = patient.registerServer(slower.spec);
    await until('the patient gateway started its server', () => existsSync(slower.started), 60_000);
    // …while the hasty gateway gives up on a server just as slow (whose gate never opens).
    const down = await hasty.registerServer(slow.spec);
    expect(down.health).to.equal('down');
    expect(down.healthReason).to.match(/no answer to initialize within 1000 ms, while connecting \(MCP_CONNECT_TIMEOUT_MS\)/);
    // The patient one waited longer than that and connects once its server answers.
    slower.open();
    const up = await connecting;
    expect(up.health).to.equal('up');
    expect(await patient.callTool(ctx, 'slower__ping')).to.have.nested.property('content[0].text', 'pong');
  });

  /** The McpServerRegistered and McpServerReconfigured of a server, as [type, version, limits]. */
  const settingsEvents = async (id: string) =>
    (await stores.at(-1)!.store.readStream(`${MCP_SERVER_STREAM_PREFIX}${id}`))
      .filter((e) => e.type === 'McpServerRegistered' || e.type === 'McpServerReconfigured')
      .map((e) => [e.type, e.version, (e.data as { limits?: unknown }).limits]);

  it("a hung server with its own connectTimeoutMs of 1 s is down after it, its reason naming that setting, while another as hung keeps the gateway's (larger) bound and connects once it answers", async () => {
    const gw = await gateway({ MCP_CONNECT_TIMEOUT_MS: '300000' });
    const patient = gated('patient-default');
    const hung = gated('hung-own');
    const connecting = gw.registerServer(patient.spec);
    await until('the server under the default started', () => existsSync(patient.started), 60_000);
    const down = await gw.registerServer({ ...hung.spec, limits: { connectTimeoutMs: 1000 } });
    expect(down).to.include({ health: 'down' }).and.to.have.deep.property('limits', { connectTimeoutMs: 1000 });
    expect(down.healthReason).to.match(/no answer to initialize within 1000 ms, while connecting \(the server's own connectTimeoutMs\)/);
    // The other one, under MCP_CONNECT_TIMEOUT_MS (5 min), is still connecting: its bound is not the other's.
    expect(await hasSettled(connecting)).to.equal(false);
    patient.open();
    const up = await connecting;
    expect(up.health).to.equal('up');
    expect(up).to.not.have.property('limits');
    expect(await gw.callTool(ctx, 'patient-default__ping')).to.have.nested.property('content[0].text', 'pong');
    // Recorded in the first version that holds it (v5); a registration without it stays v1, unchanged.
    expect(await settingsEvents(down.id)).to.deep.equal([['McpServerRegistered', 5, { connectTimeoutMs: 1000 }]]);
    expect(await settingsEvents(up.id)).to.deep.equal([['McpServerRegistered', 1, undefined]]);
  });

  it("a server's own connectTimeoutMs (its registration's limits) wins over the setting, and a reconfiguration applies it (McpServerReconfigured v2; one without it stays v1)", async () => {
    const gw = await gateway({ MCP_CONNECT_TIMEOUT_MS: '1000' });
    const own = gated('own');
    const plain = gated('plain');
    // Registered with its own, larger bound: it is kept waiting…
    const connecting = gw.registerServer({ ...own.spec, limits: { connectTimeoutMs: 300_000 } });
    await until('the server with its own bound started', () => existsSync(own.started), 60_000);
    // …while one as slow under the gateway's bound gives up.
    const down = await gw.registerServer(plain.spec);
    expect(down.health).to.equal('down');
    expect(down.healthReason).to.match(/within 1000 ms, while connecting \(MCP_CONNECT_TIMEOUT_MS\)/);
    own.open();
    const up = await connecting;
    expect(up).to.include({ health: 'up' }).and.to.have.deep.property('limits', { connectTimeoutMs: 300_000 });
    // The server that gave up, configured again with a bound of its own (an MCP_SERVERS_FILE entry
    // edited between starts), reconnects under it: recorded, and waited for until it answers.
    rmSync(plain.started, { force: true });
    const reconfiguring = gw.ensureServer({ ...plain.spec, limits: { connectTimeoutMs: 300_000 } });
    await until('the reconfigured server started again', () => existsSync(plain.started), 60_000);
    plain.open();
    const again = await reconfiguring;
    expect(again).to.include({ health: 'up', id: down.id }).and.to.have.deep.property('limits', { connectTimeoutMs: 300_000 });
    // Its own bound taken away again (a call timeout instead): v1, which cannot hold one, and the gateway's applies.
    const back = await gw.ensureServer({ ...plain.spec, limits: { timeoutMs: 60_000 } });
    expect(back.limits).to.deep.equal({ timeoutMs: 60_000 });
    expect(await settingsEvents(down.id)).to.deep.equal([
      ['McpServerRegistered', 1, undefined],
      ['McpServerReconfigured', 2, { connectTimeoutMs: 300_000 }],
      ['McpServerReconfigured', 1, { timeoutMs: 60_000 }],
    ]);
    const changed = (await stores.at(-1)!.store.readStream(`${MCP_SERVER_STREAM_PREFIX}${down.id}`)).filter((e) => e.type === 'McpServerReconfigured').map((e) => (e.data as { changed: string[] }).changed);
    expect(changed).to.deep.equal([['limits'], ['limits']]);
  });
});
