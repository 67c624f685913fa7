import { expect } from 'chai';
import { McpGateway } from '../../src/mcp/gateway';
import { freePort } from '../support/free-port';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'test' };

// `openmcp mcp servers add x --url …` to a host that does not resolve, or a port nobody listens on,
// answered "down (x (url): fetch failed)": undici's message, whose reason is in its `cause`.
describe('MCP upstream that cannot be reached: the reason says why', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;

  before(async () => {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { callTimeoutMs: 4_000, connectTimeoutMs: 10_000, healthIntervalMs: 0, retries: 0, retryBackoffMs: 10 } });
    await gateway.start();
  });
  after(async () => {
    await gateway?.close();
    await db?.cleanup();
  });

  it('a port nobody listens on: down, the reason naming ECONNREFUSED and the address (was "fetch failed")', async () => {
    const port = await freePort();
    const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'nobody', transport: 'http', url: `http://127.0.0.1:${port}/mcp` });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.equal(`nobody (http://127.0.0.1:${port}/mcp): fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('a host name that does not resolve: the reason names ENOTFOUND and the host', async () => {
    const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'nohost', transport: 'http', url: 'http://no-such-host.invalid/mcp' });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.match(/^nohost \(http:\/\/no-such-host\.invalid\/mcp\): fetch failed: getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid$/);
  });
});
