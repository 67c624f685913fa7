import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { McpGateway } from '../../src/mcp/gateway';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'u' };

/** A server and its tools straight into the log, as another process would record them (never connected here). */
async function server(store: Awaited<ReturnType<typeof openTempSqliteStore>>['store'], tenant: string, name: string, tools: Record<string, string>): Promise<void> {
  const stream = `mcpserver-${newId()}`;
  const records = Object.entries(tools).map(([n, description]) => ({ name: n, description, inputSchemaJson: '{"type":"object"}' }));
  await store.append(stream, [
    createEvent({ type: 'McpServerRegistered', stream, tenant, actor, data: { name, transport: 'http', url: 'http://upstream.invalid/mcp' } }),
    createEvent({ type: 'McpServerToolsDiscovered', stream, tenant, actor, data: { tools: records, toolsHash: `0x${'1'.repeat(64)}` } }),
  ]);
}

describe("MCP gateway: tool search scores see only the tenant's and the shared tools", function () {
  this.timeout(30_000);

  it("another tenant's tools with the same words do not move a tenant's scores (GET /v1/tools, search_tools)", async () => {
    const db = await openTempSqliteStore();
    const gw = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0, connectTimeoutMs: 500 } });
    try {
      await server(db.store, 'acme', 'hr', { payroll_export: 'Export the payroll of a month', invoices: 'List the invoices of a customer' });
      await server(db.store, '*', 'common', { echo: 'Echo text back' });
      await gw.start();
      const scores = async () => (await gw.searchTools('acme', 'payroll invoices', 5)).map((m) => [m.tool.name, m.score.toFixed(6)]);
      const before = await scores();
      expect(before.map(([n]) => n)).to.have.members(['hr__payroll_export', 'hr__invoices']);
      await server(db.store, 'beta', 'spy', Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`t${i}`, 'payroll payroll payroll report'])));
      const deadline = Date.now() + 10_000;
      while (!gw.listTools('beta').some((t) => t.name === 'spy__t0')) {
        if (Date.now() > deadline) throw new Error('beta tools never followed');
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(await scores()).to.deep.equal(before);
    } finally {
      await gw.close();
      await db.cleanup();
    }
  });
});
