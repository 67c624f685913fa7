import { expect } from 'chai';
import { migrateLatest } from '../../migrations';
import { rebuildProjection } from '../../src/cli/projections';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { LIVE_TABLES } from '../../projections/tables';
import { mysqlAvailable, requireService } from '../support/services';
import { applyOnce, appendAndProject, openTestDb, type Dialect, type TestDb } from './support';

const actor = { kind: 'system' as const, id: 'test' };
const ICONS = [{ src: 'https://example.com/chart.svg', mimeType: 'image/svg+xml', sizes: ['any'] }];
const META = { 'example.com/ui': { kind: 'chart', height: 2 } };

/**
 * The tool catalog read model (rm_mcp_tools) keeps what McpServerToolsDiscovered v2 adds to a
 * tool — its icons and _meta — and a database from before gets them by migration plus a rebuild.
 */
for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`tool catalog read model: icons and _meta on ${dialect}`, function () {
    this.timeout(60_000);
    let db: TestDb;
    before(async function () {
      if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
      db = await openTestDb(dialect);
      const stream = `mcpserver-${newId()}`;
      const tools = [
        { name: 'chart', inputSchemaJson: '{"type":"object"}', icons: ICONS, metaJson: JSON.stringify(META) },
        { name: 'plain', inputSchemaJson: '{"type":"object"}' },
      ];
      const events = [
        createEvent({ type: 'McpServerRegistered', stream, tenant: 'acme', actor, data: { name: 'viz', transport: 'http', url: 'http://127.0.0.1:9/mcp' } }),
        createEvent({ type: 'McpServerToolsDiscovered', version: 2, stream, tenant: 'acme', actor, data: { tools, toolsHash: `0x${'1'.repeat(64)}` } }),
      ];
      await appendAndProject(db, stream, events);
    });
    after(async () => {
      await db?.close();
    });

    const byName = async () => Object.fromEntries((await new SqlReadModels({ knex: db.knex }).listToolCatalog('acme')).map((t) => [t.upstreamName, t]));

    it('projects them, and a tool without them has neither', async () => {
      const tools = await byName();
      expect(tools.chart.icons).to.deep.equal(ICONS);
      expect(tools.chart.meta).to.deep.equal(META);
      expect(tools.plain).not.to.have.property('icons');
      expect(tools.plain).not.to.have.property('meta');
    });

    it('a database migrated before: the migration adds the columns (empty), a rebuild of mcp-servers fills them', async () => {
      // As the table was before this migration, with the rows the projection wrote then.
      await db.knex.schema.alterTable(LIVE_TABLES.mcpTools, (t) => t.dropColumns('icons_json', 'meta_json'));
      await db.knex('knex_migrations').where({ name: '20261205000300_mcp_tool_icons_meta' }).delete();
      await migrateLatest(db.knex);
      expect(await db.knex.schema.hasColumn(LIVE_TABLES.mcpTools, 'icons_json')).to.equal(true);
      expect(await db.knex.schema.hasColumn(LIVE_TABLES.mcpTools, 'meta_json')).to.equal(true);
      const before = await byName();
      expect(before.chart, 'not in the rows written before').not.to.have.property('icons');
      expect(before.chart.inputSchema).to.deep.equal({ type: 'object' });

      const result = await rebuildProjection({ knex: db.knex, store: db.store }, 'mcp-servers');
      expect(result.tables).to.include(LIVE_TABLES.mcpTools);
      const after = await byName();
      expect(after.chart.icons).to.deep.equal(ICONS);
      expect(after.chart.meta).to.deep.equal(META);
      expect(after.plain).not.to.have.property('icons');
    });

    it('holds icons and _meta at the event schema’s limits', async () => {
      const big = { icons: Array.from({ length: 8 }, (_, i) => ({ src: `data:image/png;base64,${String(i).repeat(8_170)}` })), metaJson: JSON.stringify({ k: 'é'.repeat(19_000) }) };
      const stream = `mcpserver-${newId()}`;
      const events = [
        createEvent({ type: 'McpServerRegistered', stream, tenant: 'acme', actor, data: { name: 'big', transport: 'http', url: 'http://127.0.0.1:9/mcp' } }),
        createEvent({ type: 'McpServerToolsDiscovered', version: 2, stream, tenant: 'acme', actor, data: { tools: [{ name: 'huge', inputSchemaJson: '{}', ...big }], toolsHash: `0x${'2'.repeat(64)}` } }),
      ];
      await appendAndProject(db, stream, events);
      const huge = (await byName()).huge;
      expect(huge.icons).to.deep.equal(big.icons);
      expect(huge.meta).to.deep.equal(JSON.parse(big.metaJson));
    });
  });
}
