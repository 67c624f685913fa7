import { expect } from 'chai';
import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { McpGateway } from '../../src/mcp/gateway';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'alice' };

/** A port nothing listens on: an upstream that is down. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('MCP gateway: failed tool calls counted in openmcp_errors_total by code', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let remote: HttpExample;
  let gateway: McpGateway;
  const registry = new Registry();

  before(async () => {
    db = await openTempSqliteStore();
    remote = await startHttpExample({ testTools: true });
    gateway = new McpGateway({ store: db.store, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 }, registry });
    await gateway.registerServer({ tenant: 'acme', actor, name: 'remote', transport: 'http', url: remote.url });
  });
  after(async () => {
    await gateway?.close();
    await remote?.close();
    await db?.cleanup();
  });

  async function counted(): Promise<Record<string, number>> {
    const metric = registry.getSingleMetric('openmcp_errors_total');
    const values = metric ? (await metric.get()).values : [];
    return Object.fromEntries(values.map((v) => [String(v.labels.code), v.value]));
  }

  it("counts each failed call under its code (an upstream down, its JSON-RPC error), so the gateway role's main failure shows on /metrics (it answered HTTP 200 with the error, counted nowhere)", async () => {
    await gateway.callTool({ tenant: 'acme', actor }, 'remote__echo', { text: 'ok' });
    expect(await counted(), 'a call that succeeds counts nothing').to.deep.equal({});
    await gateway.callTool({ tenant: 'acme', actor }, 'remote__reject', { message: 'no' }).catch(() => {});
    const url = `http://127.0.0.1:${await closedPort()}/mcp`;
    const down = await gateway.registerServer({ tenant: 'acme', actor, name: 'down', transport: 'http', url });
    // A down server has no tools to call; an upstream that goes away after discovery is what a call meets.
    expect(down.health).to.equal('down');
    await remote.close();
    await gateway.callTool({ tenant: 'acme', actor }, 'remote__echo', { text: 'gone' }).catch(() => {});
    const c = await counted();
    expect(c.MCP_UPSTREAM_ERROR, JSON.stringify(c)).to.equal(1);
    expect(c.MCP_UPSTREAM_UNAVAILABLE, JSON.stringify(c)).to.equal(1);
  });
});
