import { expect } from 'chai';
import type { Knex } from 'knex';
import { createEvent } from '../../src/core/envelope';
import { SqlKeyStore } from '../../src/auth/sql-key-store';
import { newId } from '../../src/core/ids';
import { indexesByColumns } from '../../src/db/index-names';
import { dialectOf } from '../../src/db/knex';
import { encodeTaskCursor, encodeToolCallCursor } from '../../src/readmodels/cursor';
import { AUDIT_TENANT_INDEX, AUDIT_TENANT_TYPE_INDEX } from '../../src/readmodels/schema';
import { down as dropAuditTypeIndex, up as addAuditTypeIndex } from '../../migrations/20261210000200_audit_event_type_index';
import { LIVE_TABLES as T } from '../../projections/tables';
import type { Dialect } from '../projections/support';
import { projectedReadModels } from './support';
import { planOfFirstQuery } from '../support/query-plan';
import { recordCall } from '../support/tool-call-events';

const actor = { kind: 'user' as const, id: 'u' };
const TIMES = ['2026-03-01T10:00:00.000Z', '2026-03-01T10:00:00.001Z', '2026-03-01T10:00:00.002Z'];
/** Newest first, then id descending: the order of every keyset list here (ids compare as bytes). */
const newestFirst = (a: { at: string; id: string }, b: { at: string; id: string }) => (a.at !== b.at ? (a.at < b.at ? 1 : -1) : a.id < b.id ? 1 : -1);

/** Every page of a list, from the first, `limit` at a time; fails on a page past the end. */
async function walk(list: (cursor: string | undefined) => Promise<{ items: { id: string }[]; nextCursor?: string }>): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await list(cursor);
    expect(page.items, 'no empty page behind a cursor').to.not.be.empty;
    seen.push(...page.items.map((i) => i.id));
    if (!(cursor = page.nextCursor)) return seen;
  }
  throw new Error('more than 100 pages');
}

async function insertRows(knex: Knex, table: string, rows: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await knex(table).insert(rows.slice(i, i + 500));
  if (dialectOf(knex) === 'mysql') await knex.raw('ANALYZE TABLE ??', [table]);
  else await knex.raw('ANALYZE');
}

for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`keyset pages of the task, tool-call, audit and key lists (${dialect})`, function () {
    this.timeout(60_000);
    const t = projectedReadModels(dialect);

    it('tasks: pages through runs of equal createdAt with no repeat or gap at any page size, filtered too; a cursor made before goes on from its key', async () => {
      const tasks: { at: string; id: string; agent: string }[] = [];
      let position = 0;
      for (const at of TIMES) {
        for (let i = 0; i < 5; i++) {
          const stream = `task-${newId()}`;
          const agent = `agent-${i % 2}`;
          const r = await t.db.store.append(stream, [createEvent({ type: 'TaskSubmitted', stream, tenant: 'acme', actor, data: { instruction: 'x', agentId: agent } }, () => new Date(at))]);
          tasks.push({ at, id: stream.slice(5), agent });
          position = r.position;
        }
      }
      const other = `task-${newId()}`;
      position = (await t.db.store.append(other, [createEvent({ type: 'TaskSubmitted', stream: other, tenant: 'globex', actor, data: { instruction: 'x' } }, () => new Date(TIMES[1]))])).position;
      expect(await t.rm.waitForPosition(position, 10_000)).to.equal(true);
      const want = [...tasks].sort(newestFirst);
      for (const limit of [1, 2, 3, 4, 5, 6, 7]) {
        expect(await walk((cursor) => t.rm.listTasks('acme', { limit, cursor })), `limit ${limit}`).to.deep.equal(want.map((t) => t.id));
        expect(await walk((cursor) => t.rm.listTasks('acme', { limit, agentId: 'agent-1', cursor })), `agent-1, limit ${limit}`).to.deep.equal(want.filter((t) => t.agent === 'agent-1').map((t) => t.id));
        expect(await walk((cursor) => t.rm.listTasks('acme', { limit, status: 'submitted', cursor })), `submitted, limit ${limit}`).to.deep.equal(want.map((t) => t.id));
      }
      // A cursor as clients hold it (the format is unchanged): the rows after its key, inside a run of ties.
      const k = want[7];
      const after = await t.rm.listTasks('acme', { limit: 100, cursor: encodeTaskCursor({ createdAt: k.at, id: k.id }) });
      expect(after.items.map((t) => t.id)).to.deep.equal(want.slice(8).map((t) => t.id));
    });

    it('tool calls: pages through runs of equal requestedAt with no repeat or gap at any page size; a cursor made before goes on from its key', async () => {
      const calls: { at: string; id: string }[] = [];
      let position = 0;
      for (const at of TIMES) {
        for (let i = 0; i < 5; i++) {
          const c = await recordCall(t.db.store, { tenant: 'acme', at, server: i % 2 ? 'odd' : 'even' });
          calls.push({ at, id: c.id });
          position = c.position;
        }
      }
      expect(await t.rm.waitForPosition(position, 10_000)).to.equal(true);
      const want = [...calls].sort(newestFirst);
      for (const limit of [1, 2, 3, 4, 6, 7]) {
        expect(await walk((cursor) => t.rm.listToolCalls('acme', { limit, cursor })), `limit ${limit}`).to.deep.equal(want.map((c) => c.id));
      }
      const k = want[7];
      const after = await t.rm.listToolCalls('acme', { limit: 100, cursor: encodeToolCallCursor({ requestedAt: k.at, id: k.id }) });
      expect(after.items.map((c) => c.id)).to.deep.equal(want.slice(8).map((c) => c.id));
    });

    it("a page after a cursor deep in a big tenant's list seeks to the cursor in the list's index, never reading from the top", async () => {
      const n = 6000;
      const tenantOf = (i: number) => (i % 10 < 6 ? 'acme' : i % 10 < 9 ? 'globex' : 'initech');
      const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 8)).toISOString();
      const rows = Array.from({ length: n }, (_, i) => ({ id: newId(), tenant: tenantOf(i), at: at(i), i }));
      await insertRows(t.db.knex, T.tasks, rows.map((r) => ({ id: r.id, tenant: r.tenant, status: 'completed', created_at: r.at, updated_at: r.at, revision: 0, position: r.i })));
      await insertRows(t.db.knex, T.toolCalls, rows.map((r) => ({ id: r.id, tenant: r.tenant, server_id: 's', server: 'examples', tool: 'echo', status: 'completed', requested_at: r.at, requested_position: r.i, revision: 0 })));
      await insertRows(t.db.knex, 'api_keys', rows.map((r) => ({ id: r.id, tenant: r.tenant, role: 'viewer', prefix: 'p', key_hash: `0x${r.i.toString(16).padStart(64, '0')}`, created_at: r.at, created_by: 'test' })));
      await insertRows(t.db.knex, T.auditEvents, rows.map((r) => ({ position: r.i, id: r.id, stream: `task-${r.id}`, revision: 0, type: r.i % 2 ? 'TaskSubmitted' : 'TaskStarted', tenant: r.tenant, occurred_at: r.at, hash: '0x00', body: JSON.stringify({ position: r.i }) })));
      // A cursor a third of the way down acme's list, on a run of equal times.
      const deep = rows.filter((r) => r.tenant === 'acme').sort((a, b) => newestFirst({ at: a.at, id: a.id }, { at: b.at, id: b.id }))[1200];
      const tables: Record<string, string> = { tasks: T.tasks, 'tool calls': T.toolCalls, 'audit events': T.auditEvents, 'audit events of a type': T.auditEvents, keys: 'api_keys' };
      const lists = {
        tasks: () => t.rm.listTasks('acme', { limit: 50, cursor: encodeTaskCursor({ createdAt: deep.at, id: deep.id }) }),
        'tool calls': () => t.rm.listToolCalls('acme', { limit: 50, cursor: encodeToolCallCursor({ requestedAt: deep.at, id: deep.id }) }),
        // Oldest first by position: the cursor is a position two thirds of the way down.
        'audit events': () => t.rm.listAuditEvents('acme', { limit: 50, after: 4000 }),
        'audit events of a type': () => t.rm.listAuditEvents('acme', { limit: 50, after: 4000, type: 'TaskStarted' }),
        // Oldest first by id: the cursor is the id of a key two thirds of the way down.
        keys: () => new SqlKeyStore(t.db.knex).list({ tenant: 'acme', limit: 50, afterId: rows.filter((r) => r.tenant === 'acme').map((r) => r.id).sort()[2400] }),
      };
      const sqliteSeek: Record<string, RegExp> = {
        // The seek shows as the cursor's upper bound on the time column inside the index search
        // (requested_at's lower bound is its IS NOT NULL).
        tasks: /^SEARCH .* USING .*INDEX .*\(tenant=\? AND created_at<\?\)/,
        'tool calls': /^SEARCH .* USING .*INDEX .*\(tenant=\? AND requested_at>\? AND requested_at<\?\)/,
        'audit events': /^SEARCH .* USING .*INDEX .*\(tenant=\? AND position>\?\)/,
        'audit events of a type': /^SEARCH .* USING .*INDEX .*\(tenant=\? AND type=\? AND position>\?\)/,
        keys: /^SEARCH .* USING .*INDEX .*\(tenant=\? AND id>\?\)/,
      };
      for (const [name, list] of Object.entries(lists)) {
        const plan = await planOfFirstQuery(t.db.knex, list, tables[name]);
        const shown = `${name}: ${plan.map((l) => l.detail).join(' | ')}`;
        if (dialect === 'sqlite') {
          expect(plan.some((l) => sqliteSeek[name].test(l.detail)), shown).to.equal(true);
        } else {
          expect(plan[0].type, shown).to.equal('range');
          expect(plan[0].rRows, shown).to.be.at.most(60);
        }
      }
    });

    it('the audit log has its (tenant, type, position) index from the migration, which adds it once and drops it by its own name', async () => {
      const want = AUDIT_TENANT_TYPE_INDEX.join(',');
      const has = async () => (await indexesByColumns(t.db.knex, T.auditEvents)).has(want);
      expect(await has()).to.equal(true);
      await addAuditTypeIndex(t.db.knex);
      expect([...(await indexesByColumns(t.db.knex, T.auditEvents)).keys()].filter((c) => c === want)).to.have.length(1);
      await t.db.knex.schema.alterTable(T.auditEvents, (t) => t.dropIndex([...AUDIT_TENANT_TYPE_INDEX]));
      // As a rebuild leaves it: the same columns under another name.
      await t.db.knex.schema.alterTable(T.auditEvents, (t) => t.index([...AUDIT_TENANT_TYPE_INDEX], 'rebuilt_audit_type'));
      await dropAuditTypeIndex(t.db.knex);
      expect(await has()).to.equal(false);
      // Without it the list still answers (MariaDB is then told nothing).
      expect((await t.rm.listAuditEvents('acme', { limit: 5, type: 'TaskStarted' })).items).to.deep.equal([]);
      await addAuditTypeIndex(t.db.knex);
      expect(await has()).to.equal(true);
    });

    if (dialect === 'mysql') {
      it("a tenant's audit list goes on answering, and seeking, after its index is renamed under it (a rebuild's swap)", async () => {
        await insertRows(t.db.knex, T.auditEvents, Array.from({ length: 3000 }, (_, i) => ({ position: i, id: newId(), stream: `task-${i}`, revision: 0, type: 'TaskStarted', tenant: i % 10 < 6 ? 'acme' : 'globex', occurred_at: TIMES[0], hash: '0x00', body: JSON.stringify({ position: i }) })));
        const page = () => t.rm.listAuditEvents('acme', { limit: 50, after: 2000 });
        const first = (await page()).items.map((e) => (e as unknown as { position: number }).position);
        expect(first).to.have.length(50);
        const old = (await indexesByColumns(t.db.knex, T.auditEvents)).get(AUDIT_TENANT_INDEX.join(','))!;
        // Not old + suffix: MariaDB takes an index hint's name as a prefix of one name it has.
        await t.db.knex.raw('ALTER TABLE ?? RENAME INDEX ?? TO ??', [T.auditEvents, old, 'rebuilt_audit_tenant']);
        expect((await page()).items.map((e) => (e as unknown as { position: number }).position)).to.deep.equal(first);
        const [line] = await planOfFirstQuery(t.db.knex, page, T.auditEvents);
        expect(line.detail).to.match(/^range key=rebuilt_audit_tenant /);
      });
    }
  });
}
