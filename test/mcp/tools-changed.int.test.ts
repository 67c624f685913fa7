import { expect } from 'chai';
import { McpGateway } from '../../src/mcp/gateway';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'alice' };

describe('notifications/tools/list_changed: once per change of the tools a tenant can list', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let remote: HttpExample;

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    remote = await startHttpExample();
  });
  after(async function () {
    await gateway?.close();
    await remote?.close();
    await db?.cleanup();
  });

  it('a server registered is one change, when its tools are discovered: its registration, with no tools yet, told clients to list again for nothing (and the first listing lacked its tools)', async function () {
    const seen: { tenant: string; tools: string[] }[] = [];
    const off = gateway.onToolsChanged((tenant) => seen.push({ tenant, tools: gateway.listTools(tenant).map((t) => t.name) }));
    try {
      const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'remote', transport: 'http', url: remote.url });
      expect(s.health).to.equal('up');
      expect(seen).to.have.length(1);
      expect(seen[0].tenant).to.equal('acme');
      expect(seen[0].tools).to.include('remote__echo');
      // A removal is one change too.
      await gateway.removeServer('acme', s.id, actor);
      expect(seen).to.have.length(2);
      expect(seen[1].tools).to.not.include('remote__echo');
    } finally {
      off();
    }
  });
});
