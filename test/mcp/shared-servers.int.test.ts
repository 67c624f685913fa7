import { expect } from 'chai';
import { join } from 'node:path';
import { startHttpExample } from '../../examples/mcp-http/server';
import { examplesServer } from '../../src/mcp/examples-server';
import { McpGateway } from '../../src/mcp/gateway';
import { openTempSqliteStore } from './support/stores';

const acme = { tenant: 'acme', actor: { kind: 'user' as const, id: 'alice' } };
const beta = { tenant: 'beta', actor: { kind: 'user' as const, id: 'mallory' } };
const STDERR_SERVER = join(__dirname, 'support', 'stderr-server.ts');

/** Servers of tenant "*" serve every tenant: nothing of one tenant's calls may reach another. */
describe('MCP gateway: shared servers keep tenants apart', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gw: McpGateway;
  before(async () => {
    db = await openTempSqliteStore();
    gw = new McpGateway({ store: db.store, cacheTtlMs: 60_000, upstream: { healthIntervalMs: 0, connectTimeoutMs: 30_000 } });
    await gw.start();
    expect((await gw.ensureServer(examplesServer())).health).to.equal('up');
  });
  after(async () => {
    await gw?.close();
    await db?.cleanup();
  });

  const completed = async (tenant: string) =>
    (await db.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallCompleted' && e.tenant === tenant).map((e) => e.data.cached);

  it("the result cache is per tenant: another tenant's identical call is not answered from it (nor told it was made)", async () => {
    await gw.callTool(acme, 'examples__reverse', { text: 'acme merger with globex' });
    await gw.callTool(beta, 'examples__reverse', { text: 'acme merger with globex' });
    await gw.callTool(beta, 'examples__reverse', { text: 'acme merger with globex' });
    expect(await completed('beta')).to.deep.equal([false, true]);
    expect(await completed('acme')).to.deep.equal([false]);
  });

  it("a shared stdio server's stderr (another tenant's call in it) is in no caller's error; a tenant's own server's is", async () => {
    const spec = { actor: { kind: 'system' as const, id: 'cfg' }, transport: 'stdio' as const, command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), STDERR_SERVER] };
    expect((await gw.registerServer({ ...spec, tenant: '*', name: 'crm' })).health).to.equal('up');
    await gw.callTool(acme, 'crm__lookup', { customer: 'ACME-CONFIDENTIAL-4711' });
    const shared = await gw.callTool(beta, 'crm__export', {}).then(() => 'no error', (e: Error) => e.message);
    expect(shared).to.match(/crm/).and.not.include('ACME-CONFIDENTIAL-4711').and.not.include('stderr');

    expect((await gw.registerServer({ ...spec, tenant: 'acme', name: 'owncrm' })).health).to.equal('up');
    await gw.callTool(acme, 'owncrm__lookup', { customer: 'ACME-OWN-1' });
    const own = await gw.callTool(acme, 'owncrm__export', {}).then(() => 'no error', (e: Error) => e.message);
    expect(own, 'its own server: stderr helps the tenant debug it').to.include('stderr: handled lookup customer=ACME-OWN-1');
    const log = JSON.stringify((await db.store.readAll({ limit: 10_000 })).filter((e) => e.tenant !== 'acme'));
    expect(log).to.not.include('ACME-CONFIDENTIAL-4711');
  });

  it("a shared http server's URL (the operator's configuration) is in no tenant's error when it cannot be reached", async () => {
    const upstream = await startHttpExample();
    const url = `${upstream.url}?site=corp-internal`;
    const s = await gw.registerServer({ actor: { kind: 'system', id: 'cfg' }, transport: 'http', tenant: '*', name: 'hq', url });
    try {
      expect(s.health).to.equal('up');
      await upstream.close();
      const failed = await gw.callTool(beta, 'hq__echo', { text: 'x' }).then(() => 'no error', (e: Error) => e.message);
      expect(failed).to.match(/^hq/).and.not.include('corp-internal').and.not.include(new URL(upstream.url).host);
      const recorded = JSON.stringify((await db.store.readAll({ limit: 10_000 })).filter((e) => e.tenant === 'beta' && e.type === 'ToolCallFailed'));
      expect(recorded).to.not.include('corp-internal');
    } finally {
      await gw.removeServer('*', s.id, { kind: 'system', id: 'cfg' });
    }
  });
});
