import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { LIVE_TABLES } from '../../projections/tables';
import { applyOnce, appendAndProject, openTestDb, type TestDb } from './support';

const actor = { kind: 'system' as const, id: 'test' };

/** rm_mcp_servers follows McpServerReconfigured: the server's row (same id) has the new settings, its tools stay. */
describe('MCP servers read model: a reconfigured server', function () {
  this.timeout(60_000);
  let db: TestDb;
  const id = newId();
  before(async () => {
    db = await openTestDb('sqlite');
    const stream = `mcpserver-${id}`;
    const events = [
      createEvent({ type: 'McpServerRegistered', stream, tenant: 'acme', actor, data: { name: 'files', transport: 'stdio', command: '/opt/openmcp-1/node', args: ['/opt/openmcp-1/server.js'], envKeys: ['MODE'] } }),
      createEvent({ type: 'McpServerToolsDiscovered', stream, tenant: 'acme', actor, data: { tools: [{ name: 'read', inputSchemaJson: '{"type":"object"}' }], toolsHash: `0x${'1'.repeat(64)}` } }),
      createEvent({ type: 'McpServerHealthChanged', stream, tenant: 'acme', actor, data: { status: 'up' } }),
      createEvent({
        type: 'McpServerReconfigured',
        stream,
        tenant: 'acme',
        actor,
        data: { name: 'files', transport: 'stdio', command: '/opt/openmcp-2/node', args: ['/opt/openmcp-2/server.js'], changed: ['command', 'args', 'env'] },
      }),
    ];
    await appendAndProject(db, stream, events);
  });
  after(async () => {
    await db?.close();
  });

  it('has the new settings on the same row (an unset one cleared), its health and its tools kept', async () => {
    const rows = await db.knex(LIVE_TABLES.mcpServers).select('id', 'name', 'command', 'args_json', 'env_keys_json', 'health', 'removed');
    expect(rows.map((r) => ({ ...r, removed: Boolean(r.removed) }))).to.deep.equal([
      { id, name: 'files', command: '/opt/openmcp-2/node', args_json: '["/opt/openmcp-2/server.js"]', env_keys_json: null, health: 'up', removed: false },
    ]);
    const tools = await new SqlReadModels({ knex: db.knex }).listToolCatalog('acme');
    expect(tools.map((t) => [t.serverId, t.upstreamName])).to.deep.equal([[id, 'read']]);
  });
});
