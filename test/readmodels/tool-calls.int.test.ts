import { expect } from 'chai';
import { down as dropListIndexes, up as addListIndexes } from '../../migrations/20261209000100_tool_call_list_indexes';
import { newId } from '../../src/core/ids';
import { indexesByColumns } from '../../src/db/index-names';
import { encodeTaskCursor, encodeToolCallCursor } from '../../src/readmodels/cursor';
import type { ToolCallListFilter } from '../../src/readmodels/port';
import { TOOL_CALL_LIST_INDEXES, TOOL_CALL_SERVER_TOOL_INDEX } from '../../src/readmodels/schema';
import { down as dropServerToolIndex, up as addServerToolIndex } from '../../migrations/20261211070000_tool_call_server_tool_index';
import { aliasToolName } from '../../src/core/tool-name';
import { LIVE_TABLES } from '../../projections/tables';
import type { Dialect, TestDb } from '../projections/support';
import { projectedReadModels } from './support';
import { recordCall, type RecordCallParameters } from '../support/tool-call-events';

/** The `rm_tool_calls` indexes, as their column lists. */
const indexes = async (db: TestDb): Promise<string[]> => [...(await indexesByColumns(db.knex, LIVE_TABLES.toolCalls)).keys()];

for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`tool-call read model queries: listToolCalls / getToolCall (${dialect})`, function () {
    this.timeout(60_000);
    const t = projectedReadModels(dialect);

    const call = async (p: RecordCallParameters) => {
      const c = await recordCall(t.db.store, p);
      expect(await t.rm.waitForPosition(c.position, 10_000)).to.equal(true);
      return c.id;
    };
    const ids = async (tenant: string, f: Partial<ToolCallListFilter> = {}) => (await t.rm.listToolCalls(tenant, { limit: 100, ...f })).items.map((c) => c.id);

    it('a migrated database has an index for each filter, and the migration adds any that a table lacks, once', async () => {
      const want = TOOL_CALL_LIST_INDEXES.map((c) => c.join(','));
      expect(await indexes(t.db)).to.include.members([...want, 'tenant,requested_at', 'task_id,requested_position']);
      for (const columns of TOOL_CALL_LIST_INDEXES) await t.db.knex.schema.alterTable(LIVE_TABLES.toolCalls, (t) => t.dropIndex([...columns]));
      expect(await indexes(t.db)).not.to.include.members(want);
      await addListIndexes(t.db.knex);
      await addListIndexes(t.db.knex);
      const after = await indexes(t.db);
      expect(after).to.include.members(want);
      expect(after.filter((c) => want.includes(c))).to.have.length(want.length);
    });

    it("the migration's down drops the indexes by their own names (a rebuilt table's are not knex's default ones)", async () => {
      const want = TOOL_CALL_LIST_INDEXES.map((c) => c.join(','));
      for (const columns of TOOL_CALL_LIST_INDEXES) await t.db.knex.schema.alterTable(LIVE_TABLES.toolCalls, (t) => t.dropIndex([...columns]));
      // As a rebuild leaves them: the same columns under other names.
      for (const [i, columns] of TOOL_CALL_LIST_INDEXES.entries()) await t.db.knex.schema.alterTable(LIVE_TABLES.toolCalls, (t) => t.index([...columns], `rebuilt_tool_calls_${i}`));
      await dropListIndexes(t.db.knex);
      expect((await indexes(t.db)).filter((c) => want.includes(c))).to.deep.equal([]);
      await addListIndexes(t.db.knex);
      expect(await indexes(t.db)).to.include.members(want);
    });

    it("toolOfAlias finds the tool of the tenant's calls by an alias, reading (tenant, server, tool) alone: the index, not the server's calls", async () => {
      await call({ tenant: 'acme', server: 'files', tool: 'read file', at: '2026-12-01T09:00:00.000Z' });
      await call({ tenant: 'acme', server: 'files', tool: 'write', at: '2026-12-01T09:00:01.000Z' });
      await call({ tenant: 'globex', server: 'files', tool: 'secret tool', at: '2026-12-01T09:00:02.000Z' });
      expect(await t.rm.toolOfAlias('acme', aliasToolName('files', 'read file'))).to.deep.equal({ server: 'files', tool: 'read file' });
      expect(await t.rm.toolOfAlias('acme', aliasToolName('files', 'read file', 16))).to.deep.equal({ server: 'files', tool: 'read file' });
      // Another tenant's calls name nothing here.
      expect(await t.rm.toolOfAlias('acme', aliasToolName('files', 'secret tool'))).to.equal(undefined);
      expect(await t.rm.toolOfAlias('acme', 'files__read_file')).to.equal(undefined);
      // The query a caller can ask for as often as it likes (any alias-shaped name): its plan reads the index only.
      const queries: { sql: string; bindings: readonly unknown[] }[] = [];
      // (The projectors share the connection pool: only the read model's query on the calls' table.)
      const onQuery = (q: { sql: string; bindings: readonly unknown[] }) => void (q.sql.includes(LIVE_TABLES.toolCalls) && !/^\s*(insert|update|delete)/i.test(q.sql) && queries.push(q));
      t.db.knex.on('query', onQuery);
      try {
        await t.rm.toolOfAlias('acme', 'files__anything_0123abcd');
      } finally {
        t.db.knex.removeListener('query', onQuery);
      }
      expect(queries, JSON.stringify(queries.map((q) => q.sql))).to.have.length(1);
      const plan = JSON.stringify(
        dialect === 'mysql'
          ? (await t.db.knex.raw(`EXPLAIN ${queries[0].sql}`, queries[0].bindings as never[]))[0]
          : await t.db.knex.raw(`EXPLAIN QUERY PLAN ${queries[0].sql}`, queries[0].bindings as never[]),
      );
      expect(plan, plan).to.match(dialect === 'mysql' ? /Using index/ : /COVERING INDEX/);
      expect(await indexes(t.db)).to.include(TOOL_CALL_SERVER_TOOL_INDEX.join(','));
    });

    it('the (tenant, server, tool) migration adds the index once, and its down drops it', async () => {
      const want = TOOL_CALL_SERVER_TOOL_INDEX.join(',');
      await dropServerToolIndex(t.db.knex);
      expect(await indexes(t.db)).not.to.include(want);
      await addServerToolIndex(t.db.knex);
      await addServerToolIndex(t.db.knex);
      expect((await indexes(t.db)).filter((c) => c === want)).to.have.length(1);
    });

    it('newest request first over pages; calls recorded during the walk do not shift or repeat them', async () => {
      const made: string[] = [];
      // Two calls in the same millisecond: the id orders them.
      for (let i = 0; i < 7; i++) made.push(await call({ tenant: 'acme', at: `2026-12-01T10:00:0${Math.min(i, 5)}.000Z` }));
      await call({ tenant: 'globex', at: '2026-12-01T10:00:09.000Z' });
      const expected = [...made.slice(0, 5)].reverse();
      expected.unshift(...made.slice(5).sort().reverse());
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await t.rm.listToolCalls('acme', { limit: 3, cursor });
        seen.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
        await call({ tenant: 'acme', at: '2027-01-01T00:00:00.000Z' }); // newer than every cursor: lands before the first page
      } while (cursor);
      expect(seen).to.deep.equal(expected);
    });

    it('filters by server, tool, status, taskId and requestedAt, alone and together', async () => {
      const task = newId();
      const a = await call({ tenant: 'acme', server: 'files', tool: 'read', at: '2026-12-01T09:00:00.000Z' });
      const b = await call({ tenant: 'acme', server: 'files', tool: 'write', outcome: 'failed', at: '2026-12-01T10:00:00.000Z' });
      const c = await call({ tenant: 'acme', server: 'web', tool: 'read', outcome: 'none', taskId: task, at: '2026-12-01T11:00:00.000Z' });
      const d = await call({ tenant: 'acme', server: 'web', tool: 'fetch', taskId: task, at: '2026-12-02T00:00:00.000Z' });
      await call({ tenant: 'globex', server: 'files', tool: 'read', taskId: task, outcome: 'failed', at: '2026-12-01T10:00:00.000Z' });
      expect(await ids('acme')).to.deep.equal([d, c, b, a]);
      expect(await ids('acme', { server: 'files' })).to.deep.equal([b, a]);
      expect(await ids('acme', { tool: 'read' })).to.deep.equal([c, a]);
      expect(await ids('acme', { server: 'web', tool: 'read' })).to.deep.equal([c]);
      expect(await ids('acme', { status: 'failed' })).to.deep.equal([b]);
      expect(await ids('acme', { status: 'requested' })).to.deep.equal([c]);
      expect(await ids('acme', { status: 'completed' })).to.deep.equal([d, a]);
      expect(await ids('acme', { taskId: task })).to.deep.equal([d, c]);
      expect(await ids('acme', { from: '2026-12-01T10:00:00.000Z', to: '2026-12-01T11:00:00.000Z' })).to.deep.equal([c, b]);
      expect(await ids('acme', { from: '2026-12-01', to: '2026-12-01T23:59:59.999Z' })).to.deep.equal([c, b, a]);
      expect(await ids('acme', { server: 'files', status: 'failed', from: '2026-12-01T00:00:00.000Z' })).to.deep.equal([b]);
      expect(await ids('acme', { server: 'nope' })).to.deep.equal([]);
      // Readings of a tool filter, any of which matches (GET /v1/tool-calls?tool=files__read), inside
      // the tenant and the other filters: the other tenant's files/read call is not listed.
      expect(await ids('acme', { anyOf: [{ server: 'files', tool: 'read' }, { tool: 'fetch' }] })).to.deep.equal([d, a]);
      expect(await ids('acme', { anyOf: [{ server: 'files', tool: 'read' }, { server: 'web', tool: 'read' }] })).to.deep.equal([c, a]);
      expect(await ids('acme', { anyOf: [{ server: 'files', tool: 'read' }, { tool: 'fetch' }], status: 'completed', from: '2026-12-01T10:00:00.000Z' })).to.deep.equal([d]);
      expect(await ids('acme', { anyOf: [{ server: 'files', tool: 'read' }], status: 'failed' })).to.deep.equal([]);
    });

    it('shows payloads only where recorded, hashes always; failures with their error', async () => {
      const kept = await call({ tenant: 'acme', arguments: { text: 'secret', n: 1.5 }, result: { ok: true } });
      const hashed = await call({ tenant: 'acme', policy: 'hash-only' });
      const failed = await call({ tenant: 'acme', outcome: 'failed' });
      const k = (await t.rm.getToolCall('acme', kept))!;
      expect(k).to.deep.include({ status: 'completed', server: 'examples', tool: 'echo', arguments: { text: 'secret', n: 1.5 }, result: { ok: true }, isError: false, cached: false, latencyMs: 4 });
      expect(k.argumentsHash).to.match(/^0x[0-9a-f]{64}$/);
      const h = (await t.rm.getToolCall('acme', hashed))!;
      expect(h.argumentsHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(h.resultHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(h).not.to.have.any.keys('arguments', 'result');
      expect((await t.rm.getToolCall('acme', failed))!).to.deep.include({ status: 'failed', error: { code: 'MCP_UPSTREAM_TIMEOUT', message: 'no answer in 30000 ms' }, latencyMs: 30_000 });
    });

    it("keeps tenants apart: another tenant's call is neither listed nor shown", async () => {
      const mine = await call({ tenant: 'acme' });
      const theirs = await call({ tenant: 'Acme' });
      expect(await ids('acme')).to.deep.equal([mine]);
      expect(await t.rm.getToolCall('acme', theirs)).to.equal(undefined);
      expect((await t.rm.getToolCall('Acme', theirs))!.tenant).to.equal('Acme');
    });

    it('lists a call whose request it never saw after every other, once, across pages', async () => {
      const late = await call({ tenant: 'acme', withoutRequest: true });
      const late2 = await call({ tenant: 'acme', withoutRequest: true });
      const timed = [await call({ tenant: 'acme', at: '2026-12-01T10:00:00.000Z' }), await call({ tenant: 'acme', at: '2026-12-01T09:00:00.000Z' })];
      expect((await t.rm.getToolCall('acme', late))!.requestedAt).to.equal(undefined);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await t.rm.listToolCalls('acme', { limit: 1, cursor });
        seen.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).to.deep.equal([...timed, ...[late, late2].sort().reverse()]);
      expect(await ids('acme', { from: '2000-01-01T00:00:00.000Z' })).to.deep.equal(timed);
    });

    const badCursors = ['%%%', encodeTaskCursor({ createdAt: '2026-12-01T10:00:00.000Z', id: 'x' }), encodeToolCallCursor({ requestedAt: 'yesterday', id: 'x' }), encodeToolCallCursor({ requestedAt: null, id: '' })];
    it('refuses a cursor it did not issue (another list\'s too) as INVALID_CURSOR, and a bad limit or time naming the field', async () => {
      for (const cursor of badCursors) {
        const err = await t.rm.listToolCalls('acme', { limit: 3, cursor }).catch((e) => e);
        expect(err.code, cursor).to.equal('INVALID_CURSOR');
        expect(err.details).to.deep.equal({ field: 'cursor' });
      }
      // And the task list refuses a tool-call cursor (it read its time and id as a task's).
      const onTasks = await t.rm.listTasks('acme', { limit: 3, cursor: encodeToolCallCursor({ requestedAt: '2026-12-01T10:00:00.000Z', id: 'x' }) }).catch((e) => e);
      expect(onTasks.code).to.equal('INVALID_CURSOR');
      expect((await t.rm.listToolCalls('acme', { limit: 0 }).catch((e) => e)).details).to.deep.equal({ field: 'limit' });
      expect((await t.rm.listToolCalls('acme', { limit: 5, to: 'soon' }).catch((e) => e)).details).to.deep.equal({ field: 'to' });
    });
  });
}
