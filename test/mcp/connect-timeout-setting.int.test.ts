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
import type { McpGateway } from '../../src/mcp/gateway';
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
    expect(down.healthReason).to.match(/no answer to initialize within 1000 ms, while connecting/);
    // The patient one waited longer than that and connects once its server answers.
    slower.open();
    const up = await connecting;
    expect(up.health).to.equal('up');
    expect(await patient.callTool(ctx, 'slower__ping')).to.have.nested.property('content[0].text', 'pong');
  });
});
