import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../scripts/make-tiny-model';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { McpGateway } from '../../src/mcp/gateway';
import { loadLocalEmbedder, type Embedder } from '../../src/search/embedder';
import { ToolSearch } from '../../src/search/tool-search';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'u' };
type Store = Awaited<ReturnType<typeof openTempSqliteStore>>['store'];

/** Registry events straight into the log, as another process would record them (never connected here). */
async function register(store: Store, tenant: string, name: string): Promise<string> {
  const stream = `mcpserver-${newId()}`;
  await store.append(stream, [createEvent({ type: 'McpServerRegistered', stream, tenant, actor, data: { name, transport: 'http', url: 'http://upstream.invalid/mcp' } })]);
  return stream;
}
async function discover(store: Store, stream: string, tenant: string, tools: Record<string, string>): Promise<void> {
  const records = Object.entries(tools).map(([n, description]) => ({ name: n, description, inputSchemaJson: '{"type":"object"}' }));
  await store.append(stream, [createEvent({ type: 'McpServerToolsDiscovered', stream, tenant, actor, data: { tools: records, toolsHash: `0x${newId().replace(/-/g, '').padEnd(64, '0').slice(0, 64)}` } })]);
}

describe('MCP gateway: the saved vector index follows the catalog across restarts, per tenant', function () {
  this.timeout(60_000);
  let dir: string;
  let embedder: Embedder;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-search-restart-'));
    makeTinyModel(join(dir, 'models'), 'tiny');
    embedder = await loadLocalEmbedder(join(dir, 'models'), 'tiny');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('drops the vectors of servers removed and tools gone while it was down; tenants see only theirs and the shared ones', async () => {
    const db = await openTempSqliteStore();
    const indexPath = join(dir, 'data', 'search', 'tools.usearch');
    const open = async () => {
      const search = new ToolSearch({ embedder, indexPath });
      const gw = new McpGateway({ store: db.store, search, follow: false, upstream: { healthIntervalMs: 0, connectTimeoutMs: 200 } });
      await gw.start();
      await search.flush();
      return { gw, search };
    };
    try {
      const hr = await register(db.store, 'acme', 'hr');
      await discover(db.store, hr, 'acme', { payroll_export: 'Export the payroll of a month', send_payslip: 'Email a payslip to an employee' });
      const mail = await register(db.store, 'beta', 'mail');
      await discover(db.store, mail, 'beta', { send_email: 'Send an email', list_inbox: 'List the inbox' });
      const common = await register(db.store, '*', 'common');
      await discover(db.store, common, '*', { echo: 'Echo text back' });
      let { gw, search } = await open();
      expect(search.status().vectors).to.equal(5);
      await gw.close();

      // While it is down: acme's server is removed, beta's loses a tool.
      await db.store.append(hr, [createEvent({ type: 'McpServerRemoved', stream: hr, tenant: 'acme', actor, data: { name: 'hr' } })]);
      await discover(db.store, mail, 'beta', { send_email: 'Send an email' });

      ({ gw, search } = await open());
      expect(search.status()).to.include({ vectors: 2, documents: 2 });
      // What it saved after pruning is what the next start loads.
      expect(new ToolSearch({ embedder, indexPath }).status().vectors).to.equal(2);
      const names = async (tenant: string, q: string) => (await gw.searchTools(tenant, q, 10)).map((m) => m.tool.name);
      expect(await names('acme', 'send an email payroll echo')).to.deep.equal(['common__echo']);
      expect(await names('beta', 'send an email payroll echo')).to.have.members(['mail__send_email', 'common__echo']);
      expect(await names('gamma', 'send an email inbox')).to.deep.equal(['common__echo']);
      await gw.close();
    } finally {
      await db.cleanup();
    }
  });

  it('drops vectors of tools its log never had (DATA_DIR kept, the event store replaced or restored to an earlier point)', async () => {
    const indexPath = join(dir, 'data2', 'search', 'tools.usearch');
    const run = async (servers: Record<string, Record<string, string>>) => {
      const db = await openTempSqliteStore();
      for (const [name, tools] of Object.entries(servers)) await discover(db.store, await register(db.store, 'acme', name), 'acme', tools);
      const search = new ToolSearch({ embedder, indexPath });
      const gw = new McpGateway({ store: db.store, search, follow: false, upstream: { healthIntervalMs: 0, connectTimeoutMs: 200 } });
      await gw.start();
      await search.flush();
      const vectors = search.status().vectors;
      await gw.close();
      await db.cleanup();
      return vectors;
    };
    expect(await run({ hr: { payroll_export: 'Export the payroll', send_payslip: 'Email a payslip' }, files: { read_file: 'Read a file' } })).to.equal(3);
    expect(await run({ files: { read_file: 'Read a file' } })).to.equal(1);
  });
});
