import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { down as subjectEventsDown, up as subjectEventsMigration } from '../../migrations/20261211050000_subject_events';
import { createEvent, type Actor } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { MAX_RESULT_DEPTH } from '../../src/core/body-depth';
import { rebuildProjection } from '../../src/cli/projections';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { CHECKPOINT_TABLE, LIVE_TABLES as T } from '../../projections/tables';
import type { Dialect } from '../projections/support';
import { projectedReadModels } from './support';
import { Registry } from 'prom-client';
import { repairSubjectIndex, unindexedEvents } from '../../src/readmodels/subject-index-repair';
import { startSubjectIndexRepair, UNINDEXED_METRIC } from '../../src/projector/subject-index-sweep';
import { until } from '../mcp/support/until';
import { projectionSchemas } from '../../src/readmodels/schema';
import { SLICE_ROWS, type SizedRow } from '../../src/readmodels/audit-slices';
import { fillAuditSlice } from '../../src/readmodels/audit-actors';

const subject: Actor = { kind: 'agent', id: 'key-1' };
const sealed = (kid: string) => ({ alg: 'A256GCM', kid, iv: '0x00', ct: '0x00', tag: '0x00' });

for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`a data subject's events from the subject index (${dialect})`, function () {
    this.timeout(60_000);
    const t = projectedReadModels(dialect);

    /** The log of the export's rules (src/sdk/subject-export.ts): what is the subject's, and what is not. */
    async function log(): Promise<{ mine: string[]; head: number }> {
      const mine: string[] = [];
      let head = -1;
      const add = async (isMine: boolean, stream: string, tenant: string, actor: Actor, data: Record<string, unknown> = {}, type = 'SubjectTestNoted', version = 1) => {
        const e = createEvent({ type, version, stream, tenant, actor, data });
        head = (await t.db.store.append(stream, [e])).position;
        if (isMine) mine.push(e.id);
      };
      const admin: Actor = { kind: 'user', id: 'admin' };
      const worker: Actor = { kind: 'agent', id: 'agent-host-1' };
      await add(true, `apikey-${subject.id}`, 'acme', admin, { name: 'laptop of A. Person' }, 'ApiKeyCreated');
      await add(true, `note-${newId()}`, 'acme', subject);
      await add(false, `note-${newId()}`, 'acme', { kind: 'user', id: subject.id }, {}, 'SubjectTestOtherKind');
      await add(false, `note-${newId()}`, 'beta', subject, {}, 'SubjectTestOtherTenant');
      await add(true, `toolcall-${newId()}`, 'acme', worker, { payloadPolicy: 'encrypted', argumentsSealed: sealed('kid-1') }, 'ToolCallRequested', 3);
      // Found by its actor and by its key: listed once.
      await add(true, `task-${newId()}`, 'acme', subject, { steps: [{ tool: 'a__b', arguments: {} }, { tool: 'a__b', argumentsSealed: sealed('kid-2') }] }, 'TaskSubmitted', 4);
      await add(false, `toolcall-${newId()}`, 'acme', worker, { resultSealed: sealed('kid-other') }, 'ToolCallCompleted', 3);
      await add(false, `note-${newId()}`, 'acme', worker, { kid: 'kid-1', note: 'no ct: not a sealed payload' });
      await add(true, 'subject-kid-1', 'acme', admin, { kid: 'kid-1' }, 'SubjectKeyErased');
      await add(false, `apikey-other`, 'acme', admin, {}, 'ApiKeyCreated');
      // An actor id the index keeps hashed (long, not ASCII): found all the same.
      await add(false, `note-${newId()}`, 'acme', { kind: 'user', id: `ü${'x'.repeat(199)}` }, {}, 'SubjectTestOdd');
      // A caller who knows the subject's key ids puts look-alikes of sealed payloads in plain data
      // (a task's input and output under MCP_PAYLOAD_POLICY=store, an event type with no sealed
      // field): not the subject's events.
      const caller: Actor = { kind: 'agent', id: 'someone-else' };
      await add(false, `task-${newId()}`, 'acme', caller, { steps: [{ tool: 'a__b', arguments: { x: { kid: 'kid-1', ct: '0x00' }, argumentsSealed: sealed('kid-2') } }] }, 'TaskSubmitted', 2);
      await add(false, `task-${newId()}`, 'acme', worker, { output: { steps: [{ result: { kid: 'kid-2', ct: '0x00' } }] } }, 'TaskCompleted', 1);
      await add(false, `note-${newId()}`, 'acme', caller, { argumentsSealed: sealed('kid-1') });
      await add(true, `toolcall-${newId()}`, 'acme', worker, { payloadPolicy: 'encrypted', argumentsSealed: sealed('kid-2') }, 'ToolCallRequested', 2);
      expect(await t.rm.waitForPosition(head, 10_000)).to.equal(true);
      return { mine, head };
    }
    const ids = (p: { items: { id: string }[] }) => p.items.map((e) => e.id);
    const rows = async () => (await t.db.knex(T.subjectEvents).select('tenant', 'ref', 'position').orderBy(['position', 'ref'])).map((r) => ({ ...r, position: Number(r.position) }));
    const actors = async () => (await t.db.knex(T.auditEvents).select('position', 'actor').orderBy('position')).map((r) => ({ ...r, position: Number(r.position) }));
    /** What a projector of the release before the index leaves: audit rows without their actor, no index rows. */
    const appliedByOlderRelease = async (positions: number[]) => {
      await t.db.knex(T.subjectEvents).whereIn('position', positions).delete();
      await t.db.knex(T.auditEvents).whereIn('position', positions).update({ actor: null });
    };

    it("lists the events of its tenant it caused, of its API key's stream, sealed under its keys and their erasures: once each, in position order", async () => {
      const { mine } = await log();
      const page = await t.rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 100 });
      expect(ids(page)).to.deep.equal(mine);
      expect(page.nextCursor).to.equal(undefined);
      const positions = page.items.map((e) => e.position);
      expect(positions).to.deep.equal([...positions].sort((a, b) => a - b));
      // Without keys (MCP_PAYLOAD_POLICY=store), only its own: the actor's and its key's stream.
      expect((await t.rm.listSubjectEvents('acme', { actor: subject, kids: [], limit: 100 })).items.map((e) => e.type)).to.deep.equal(['ApiKeyCreated', 'SubjectTestNoted', 'TaskSubmitted']);
      expect(ids(await t.rm.listSubjectEvents('beta', { actor: subject, kids: [], limit: 100 }))).to.have.length(1);
      const odd = await t.rm.listSubjectEvents('acme', { actor: { kind: 'user', id: `ü${'x'.repeat(199)}` }, kids: [], limit: 100 });
      expect(odd.items.map((e) => e.type)).to.deep.equal(['SubjectTestOdd']);
    });

    it('pages by cursor (the last position) without repeats or gaps, and refuses a bad limit or after', async () => {
      const { mine } = await log();
      const seen: string[] = [];
      let after: number | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await t.rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 2, after });
        seen.push(...ids(page));
        if (page.nextCursor === undefined) break;
        expect(page.items).to.have.length(2);
        after = Number(page.nextCursor);
      }
      expect(seen).to.deep.equal(mine);
      const refused = (p: Promise<unknown>) => p.then(() => undefined, (err: { code?: string; details?: { field?: string } }) => [err.code, err.details?.field]);
      expect(await refused(t.rm.listSubjectEvents('acme', { actor: subject, kids: [], limit: 0 }))).to.deep.equal(['VALIDATION_FAILED', 'limit']);
      expect(await refused(t.rm.listSubjectEvents('acme', { actor: subject, kids: [], limit: 10, after: -2 }))).to.deep.equal(['VALIDATION_FAILED', 'after']);
    });

    it('holds a page before a position the audit log has not applied yet, as GET /v1/events does', async () => {
      const { mine } = await log();
      const all = (await t.rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 100 })).items.map((e) => e.position);
      const gap = all[2] - 1;
      const held = await t.db.knex(T.auditEvents).where('position', gap).first();
      await t.db.knex(T.auditEvents).where('position', gap).delete();
      const rm = new SqlReadModels({ knex: t.db.knex, gapFreePositions: true });
      const page = await rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 100 });
      expect(ids(page)).to.deep.equal(mine.slice(0, 2));
      expect(page.nextCursor).to.equal(undefined);
      // Said so: the log has events past the hold, which an export must wait for.
      expect(page.held).to.deep.equal({ position: gap, reason: 'unapplied' });
      await t.db.knex(T.auditEvents).insert(held);
      const whole = await rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 100 });
      expect(ids(whole)).to.deep.equal(mine);
      // At the log's head: the end, nothing held.
      expect(whole.held).to.equal(undefined);
      // Nor when the head moved on while the page was read (an event applied right after the prefix
      // was found, no gap): else every last page of a busy log were held, an export never done.
      const find = (rm as unknown as { auditAppliedThrough: () => Promise<number> }).auditAppliedThrough;
      const model = await t.db.knex(T.auditEvents).where('position', all[0]).first();
      (rm as unknown as { auditAppliedThrough: () => Promise<number> }).auditAppliedThrough = async () => {
        const through = await find();
        await t.db.knex(T.auditEvents).insert({ ...model, position: through + 1, id: newId(), seq: null, batch_id: null, tenant: 'beta' });
        return through;
      };
      const busy = await rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 100 });
      expect(ids(busy)).to.deep.equal(mine);
      expect(busy.held).to.equal(undefined);
    });

    it("holds a page before the tenant's first audit row an older release's projector applied (no actor yet: a rolling upgrade), so a cursor never passes it before the repair fills it", async () => {
      const { mine } = await log();
      const list = (after?: number) => t.rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 100, after });
      const all = (await list()).items.map((e) => e.position);
      // The subject's third event applied by an older projector: found by neither its actor nor its key.
      await appliedByOlderRelease([all[2]]);
      // Another tenant's unindexed row holds nobody here.
      const beta = (await t.db.knex(T.auditEvents).where('tenant', 'beta').first('position')).position;
      await appliedByOlderRelease([Number(beta)]);
      const page = await list();
      expect(ids(page)).to.deep.equal(mine.slice(0, 2));
      // No cursor past it, and the page says it is held there (an export waits, never stops short unaware).
      expect(page.nextCursor).to.equal(undefined);
      expect(page.held).to.deep.equal({ position: all[2], reason: 'unindexed' });
      // A client past it (its cursor from before) gets nothing until it is filled.
      const past = await list(all[2]);
      expect(ids(past)).to.deep.equal([]);
      expect(past.held).to.deep.equal({ position: all[2], reason: 'unindexed' });
      const betaPage = await t.rm.listSubjectEvents('beta', { actor: subject, kids: [], limit: 100 });
      expect(ids(betaPage)).to.have.length(0);
      expect(betaPage.held?.reason).to.equal('unindexed');
      await repairSubjectIndex(t.db.knex);
      const rest = await list(page.items[page.items.length - 1].position);
      expect(ids(rest)).to.deep.equal(mine.slice(2));
      expect(rest.held).to.equal(undefined);
      expect(ids(await t.rm.listSubjectEvents('beta', { actor: subject, kids: [], limit: 100 }))).to.have.length(1);
    });

    it("finds a tenant's first unindexed row with one seek along (tenant, actor, position)", async () => {
      const { head } = await log();
      const knex = t.db.knex;
      const model = await knex(T.auditEvents).where('position', head).first();
      for (let p = head + 1; p <= head + 2000; p += 200) {
        await knex(T.auditEvents).insert(Array.from({ length: 200 }, (_, i) => ({ ...model, position: p + i, id: newId(), seq: null, batch_id: null, tenant: i % 2 ? 'acme' : 'beta', actor: i % 50 === 1 ? null : 'actor:user:someone' })));
      }
      const queries: { sql: string; bindings: Knex.RawBinding[] }[] = [];
      const listener = (q: { sql: string; bindings?: Knex.RawBinding[] }) => {
        if (/is null/i.test(q.sql)) queries.push({ sql: q.sql, bindings: q.bindings ?? [] });
      };
      knex.on('query', listener);
      await t.rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1'], limit: 50 });
      knex.removeListener('query', listener);
      expect(queries).to.have.length(1);
      const q = queries[0];
      if (dialect === 'mysql') {
        const [plan] = (await knex.raw(`ANALYZE ${q.sql}`, q.bindings)) as [{ type: string | null; r_rows: number | null; Extra: string | null }[]];
        // A MIN on an index's prefix is read from it at planning ("Select tables optimized away"), or a range of it.
        if (plan[0].type === null) expect(plan[0].Extra, q.sql).to.match(/optimized away/);
        else {
          expect(plan[0].type, q.sql).to.equal('range');
          expect(Number(plan[0].r_rows), q.sql).to.be.at.most(40);
        }
      } else {
        const plan = ((await knex.raw(`EXPLAIN QUERY PLAN ${q.sql}`, q.bindings)) as { detail: string }[]).map((r) => r.detail).join(' | ');
        expect(plan, q.sql).to.match(/SEARCH \S+ USING COVERING INDEX \S+ \(tenant=\? AND actor=\?\)/);
      }
    });

    it('the migration fills the audit log\'s actors and the index of a deployment that had neither from the audit log: what the projector writes, going on where a stopped run ended; so does a rebuild', async () => {
      await log();
      const projected = await rows();
      const written = await actors();
      // Only the events with a sealed payload have index rows: one per data key.
      expect(projected.map((r) => r.ref)).to.deep.equal(['kid:kid-1', 'kid:kid-2', 'kid:kid-other', 'kid:kid-2']);
      expect(written.map((r) => r.actor)).to.include.members(['actor:agent:key-1', 'actor:agent:agent-host-1']);
      expect(written.every((r) => typeof r.actor === 'string')).to.equal(true);
      await t.db.knex.schema.dropTable(T.subjectEvents);
      await t.db.knex(T.auditEvents).update({ actor: null });
      // An upgraded deployment has no checkpoint of the new projection: the migration gives it the
      // audit log's (what it filled), or its lag gauge counts the whole log until the next event.
      await t.db.knex(CHECKPOINT_TABLE).where('projection', 'subject-events').delete();
      await subjectEventsMigration(t.db.knex);
      expect(await rows()).to.deep.equal(projected);
      expect(await actors()).to.deep.equal(written);
      const mark = async (p: string) => Number((await t.db.knex(CHECKPOINT_TABLE).where('projection', p).first('position'))?.position ?? -1);
      expect(await mark('audit-log')).to.be.greaterThan(0);
      expect(await mark('subject-events')).to.equal(await mark('audit-log'));
      // Run again (the table is there): nothing changes.
      await subjectEventsMigration(t.db.knex);
      expect(await rows()).to.deep.equal(projected);
      // A run stopped halfway (MySQL committed its slices, the migration not recorded): the rows after
      // them have neither, those of the slice it stopped in their index rows only; the next start goes on from there.
      await t.db.knex(T.subjectEvents).where('position', '>', written[5].position).delete();
      await t.db.knex(T.auditEvents).where('position', '>', written[3].position).update({ actor: null });
      await subjectEventsMigration(t.db.knex);
      expect(await rows()).to.deep.equal(projected);
      expect(await actors()).to.deep.equal(written);
      // What a rolling upgrade's older projector left out (index rows, audit rows' actors), a rebuild fills.
      await t.db.knex(T.subjectEvents).where('position', '>', projected[0].position).delete();
      await t.db.knex(T.auditEvents).where('position', '>', written[3].position).update({ actor: null });
      const r = await rebuildProjection({ knex: t.db.knex, store: t.db.store }, 'subject-events');
      expect(r.tables).to.deep.equal([T.subjectEvents]);
      expect(await rows()).to.deep.equal(projected);
      expect(await actors()).to.deep.equal(written);
      expect(ids(await t.rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 100 }))).to.have.length(6);
      // A rebuild of the audit log writes the same actors.
      await rebuildProjection({ knex: t.db.knex, store: t.db.store }, 'audit-log');
      expect(await actors()).to.deep.equal(written);
      // Undone (the column, its index, the table) and done again: the same.
      await subjectEventsDown(t.db.knex);
      expect(await t.db.knex.schema.hasColumn(T.auditEvents, 'actor')).to.equal(false);
      await subjectEventsMigration(t.db.knex);
      expect(await rows()).to.deep.equal(projected);
      expect(await actors()).to.deep.equal(written);
    });

    it('fills the actor of an event nesting as deep as an upstream result may (MAX_RESULT_DEPTH), deeper than SQLite\'s JSON functions read', async () => {
      const { head } = await log();
      const knex = t.db.knex;
      const model = await knex(T.auditEvents).where('position', head).first();
      const nested = JSON.parse(`${'['.repeat(MAX_RESULT_DEPTH)}${']'.repeat(MAX_RESULT_DEPTH)}`) as unknown;
      await knex(T.auditEvents).insert({ ...model, position: head + 1, id: newId(), seq: null, batch_id: null, actor: null, body: JSON.stringify({ ...JSON.parse(String(model.body)), position: head + 1, data: { result: nested } }) });
      await subjectEventsMigration(knex);
      expect((await knex(T.auditEvents).where('position', head + 1).first('actor')).actor).to.equal(model.actor);
    });

    it('reads each range along its index, not the tenant\'s log nor other actors\' rows: (tenant, actor, position), (stream, position), the subject index', async () => {
      const { head } = await log();
      const knex = t.db.knex;
      const model = await knex(T.auditEvents).where('position', head).first();
      // Much of the tenant's log by others, and a stream of the subject's name in another tenant.
      for (let p = head + 1; p <= head + 2000; p += 200) {
        await knex(T.auditEvents).insert(Array.from({ length: 200 }, (_, i) => ({ ...model, position: p + i, id: newId(), seq: null, batch_id: null, tenant: i % 2 ? 'acme' : 'beta', stream: i % 2 ? `note-${p + i}` : `apikey-${subject.id}`, actor: 'actor:user:someone' })));
      }
      const queries: { sql: string; bindings: Knex.RawBinding[] }[] = [];
      const listener = (q: { sql: string; bindings?: Knex.RawBinding[] }) => {
        if (/^select [`"]position[`"] from/.test(q.sql)) queries.push({ sql: q.sql, bindings: q.bindings ?? [] });
      };
      knex.on('query', listener);
      await t.rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1'], after: 0, limit: 50 });
      knex.removeListener('query', listener);
      expect(queries).to.have.length(4);
      for (const q of queries) {
        if (dialect === 'mysql') {
          const [rows] = (await knex.raw(`ANALYZE ${q.sql}`, q.bindings)) as [{ type: string; r_rows: number | null }[]];
          expect(rows[0].type, q.sql).to.equal('range');
          expect(Number(rows[0].r_rows), q.sql).to.be.at.most(1000);
        } else {
          const plan = ((await knex.raw(`EXPLAIN QUERY PLAN ${q.sql}`, q.bindings)) as { detail: string }[]).map((r) => r.detail).join(' | ');
          expect(plan, q.sql).to.match(/SEARCH \S+ USING (COVERING )?INDEX \S+ \((tenant=\? AND actor=\?|stream=\?|tenant=\? AND ref=\?) AND position>\?\)/);
        }
      }
    });

    it("finds what an older release's projector applied (no actor, no index rows: a rolling upgrade, a rollback), counts it and fills both, so the export lists those events again", async () => {
      const { mine } = await log();
      const projected = await rows();
      const written = await actors();
      const older = written.slice(-8).map((r) => r.position);
      await appliedByOlderRelease(older);
      const list = async () => ids(await t.rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 100 }));
      expect(await list(), 'the hole an export would have').to.not.deep.equal(mine);
      expect(await unindexedEvents(t.db.knex)).to.equal(8);
      expect(await repairSubjectIndex(t.db.knex)).to.equal(8);
      expect(await rows()).to.deep.equal(projected);
      expect(await actors()).to.deep.equal(written);
      expect(await list()).to.deep.equal(mine);
      expect(await unindexedEvents(t.db.knex)).to.equal(0);
      expect(await repairSubjectIndex(t.db.knex)).to.equal(0);
    });

    it("the projector's sweep fills them at its start and every interval, and openmcp_subject_index_unindexed_events says how many it found", async () => {
      const { mine } = await log();
      const written = await actors();
      await appliedByOlderRelease(written.slice(-3).map((r) => r.position));
      const registry = new Registry();
      const runs: { found: number; filled: number }[] = [];
      const sweep = startSubjectIndexRepair(t.db.knex, { registry, intervalMs: 50, onFilled: (r) => void runs.push(r), onError: (err) => runs.push({ found: -1, filled: String(err) as never }) });
      try {
        const gauge = async () => (await registry.getSingleMetric(UNINDEXED_METRIC)!.get()).values[0]?.value;
        await until('the sweep at start fills them', async () => runs.length === 1);
        expect(runs[0]).to.deep.equal({ found: 3, filled: 3 });
        expect(await actors()).to.deep.equal(written);
        expect(await gauge()).to.equal(0);
        // Later (an older projector still running beside this one): the next run.
        await appliedByOlderRelease(written.slice(1, 3).map((r) => r.position));
        await until('the next run fills them', async () => runs.length === 2);
        expect(runs[1]).to.deep.equal({ found: 2, filled: 2 });
        expect(ids(await t.rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 100 }))).to.deep.equal(mine);
      } finally {
        await sweep.stop();
      }
    });

    it('the sweep with its database away: no crash, the error handed on and the gauge NaN; back, the next run fills what is left', async () => {
      const { mine } = await log();
      const written = await actors();
      await appliedByOlderRelease(written.slice(-2).map((r) => r.position));
      const away = `${T.auditEvents}_away`;
      await t.db.knex.schema.renameTable(T.auditEvents, away);
      const registry = new Registry();
      const runs: { found: number; filled: number }[] = [];
      const errors: unknown[] = [];
      const sweep = startSubjectIndexRepair(t.db.knex, { registry, intervalMs: 50, onFilled: (r) => void runs.push(r), onError: (err) => void errors.push(err) });
      try {
        const gauge = async () => (await registry.getSingleMetric(UNINDEXED_METRIC)!.get()).values[0]?.value;
        await until('a run fails', async () => errors.length > 0);
        expect(await gauge()).to.be.NaN;
        expect(runs).to.deep.equal([]);
        await t.db.knex.schema.renameTable(away, T.auditEvents);
        await until('a run fills them', async () => runs.length > 0);
        expect(runs[0]).to.deep.equal({ found: 2, filled: 2 });
        expect(await gauge()).to.equal(0);
        expect(await actors()).to.deep.equal(written);
        expect(ids(await t.rm.listSubjectEvents('acme', { actor: subject, kids: ['kid-1', 'kid-2'], limit: 100 }))).to.deep.equal(mine);
      } finally {
        await sweep.stop();
        if (await t.db.knex.schema.hasTable(away)) await t.db.knex.schema.renameTable(away, T.auditEvents);
      }
    });

    it('the sweep whose fill keeps failing (a row it cannot read) leaves the gauge at what it found, so the alert fires, and hands each error on', async () => {
      const { head } = await log();
      const knex = t.db.knex;
      const model = await knex(T.auditEvents).where('position', head).first();
      await knex(T.auditEvents).insert({ ...model, position: head + 1, id: newId(), seq: null, batch_id: null, body: '{"ct": cut short', actor: null });
      await appliedByOlderRelease([head]);
      const registry = new Registry();
      const errors: unknown[] = [];
      const sweep = startSubjectIndexRepair(knex, { registry, intervalMs: 50, onError: (err) => void errors.push(err) });
      try {
        await until('two runs fail', async () => errors.length >= 2);
      } finally {
        await sweep.stop();
      }
      expect((await registry.getSingleMetric(UNINDEXED_METRIC)!.get()).values[0]?.value).to.equal(2);
      expect(String(errors[0])).to.match(/JSON/);
    });

    it('finds them along the actor index, one seek per tenant, not by reading the audit log', async () => {
      const { head } = await log();
      const knex = t.db.knex;
      const model = await knex(T.auditEvents).where('position', head).first();
      // Much of the log, its actors filled, in a few tenants; two rows without one.
      for (let p = head + 1; p <= head + 3000; p += 300) {
        await knex(T.auditEvents).insert(Array.from({ length: 300 }, (_, i) => ({ ...model, position: p + i, id: newId(), seq: null, batch_id: null, tenant: ['acme', 'beta', 'gamma'][i % 3], actor: 'actor:user:someone' })));
      }
      await knex(T.auditEvents).whereIn('position', [head + 10, head + 2000]).update({ actor: null });
      const queries: { sql: string; bindings: Knex.RawBinding[] }[] = [];
      const listener = (q: { sql: string; bindings?: Knex.RawBinding[] }) => {
        if (/^select /i.test(q.sql) && q.sql.includes(T.auditEvents)) queries.push({ sql: q.sql, bindings: q.bindings ?? [] });
      };
      knex.on('query', listener);
      expect(await unindexedEvents(knex)).to.equal(2);
      expect(await repairSubjectIndex(knex)).to.equal(2);
      knex.removeListener('query', listener);
      expect(queries.length).to.be.at.least(4);
      for (const q of queries) {
        if (dialect === 'mysql') {
          const [plan] = (await knex.raw(`ANALYZE ${q.sql}`, q.bindings)) as [{ table: string; type: string; r_rows: number | null }[]];
          const audit = plan.find((r) => r.table === T.auditEvents) ?? plan[0];
          expect(audit.type, q.sql).to.not.equal('ALL');
          expect(Number(audit.r_rows), q.sql).to.be.at.most(10);
        } else {
          const plan = ((await knex.raw(`EXPLAIN QUERY PLAN ${q.sql}`, q.bindings)) as { detail: string }[]).map((r) => r.detail).join(' | ');
          // A seek; or the first tenant, the first entry of the tenant index (LIMIT 1).
          if (/\bSCAN\b/.test(plan)) expect(`${plan} <- ${q.sql}`).to.match(/^SCAN \S+ USING COVERING INDEX \S+ <- select `tenant` .* limit \?$/);
          else expect(plan, q.sql).to.match(/^SEARCH \S+ USING (COVERING INDEX|INDEX|INTEGER PRIMARY KEY)/);
        }
      }
    });

    it('fills side by side with other runs (projector processes) without duplicates or errors: every write is one the others make', async () => {
      const { head } = await log();
      const knex = t.db.knex;
      const sealedRow = await knex(T.auditEvents).where('body', 'like', '%argumentsSealed%').orderBy('position').first();
      const many = 2400;
      for (let p = head + 1; p <= head + many; p += 300) {
        await knex(T.auditEvents).insert(Array.from({ length: 300 }, (_, i) => ({ ...sealedRow, position: p + i, id: newId(), seq: null, batch_id: null, tenant: ['acme', 'beta'][i % 2], actor: null })));
      }
      const expected = (await knex(T.subjectEvents).where('position', sealedRow.position)).length;
      expect(expected).to.be.above(0);
      const filled = await Promise.all([repairSubjectIndex(knex), repairSubjectIndex(knex), repairSubjectIndex(knex)]);
      expect(filled.reduce((a, b) => a + b, 0)).to.be.at.least(many);
      expect(await unindexedEvents(knex)).to.equal(0);
      const index = await knex(T.subjectEvents).where('position', '>', head).select('tenant', 'position');
      expect(index.length).to.equal(many * expected);
      expect(new Set(index.map((r) => `${r.tenant}/${r.position}`)).size).to.equal(many);
    });

    it("the fill's writes lock its slice's rows only (MariaDB: UPDATE … WHERE position IN (1,000 positions) is a range of point reads on the primary key), not another tenant's rows between them, the next slice's or the live projector's new ones", async function () {
      if (dialect !== 'mysql') this.skip();
      const { head } = await log();
      const knex = t.db.knex;
      const model = await knex(T.auditEvents).where('position', head).first();
      // acme's rows to fill (one actor: one UPDATE of a whole slice) with beta's between them.
      const many = 2 * SLICE_ROWS + 2;
      for (let p = head + 1; p <= head + many; p += 250) {
        await knex(T.auditEvents).insert(Array.from({ length: Math.min(250, head + many - p + 1) }, (_, i) => ({ ...model, position: p + i, id: newId(), seq: null, batch_id: null, tenant: (p + i - head) % 2 ? 'acme' : 'beta', actor: (p + i - head) % 2 ? null : 'actor:user:someone' })));
      }
      const sized: SizedRow[] = await knex(T.auditEvents).select('position', knex.raw('LENGTH(body) AS size')).where('tenant', 'acme').whereNull('actor').orderBy('position').limit(SLICE_ROWS);
      const [first, last] = [Number(sized[0].position), Number(sized[sized.length - 1].position)];
      const plan = async (sql: string, bindings: Knex.RawBinding[]) => ((await knex.raw(`EXPLAIN ${sql}`, bindings)) as [{ type: string; key: string | null; rows: number }[]])[0][0];
      const update = knex(T.auditEvents).whereIn('position', sized.map((r) => r.position)).update({ actor: 'actor:agent:key-1' }).toSQL();
      expect(await plan(update.sql, update.bindings as Knex.RawBinding[])).to.include({ type: 'range', key: 'PRIMARY' });
      // The slice filled in a transaction held open, as if its statements were slow: another session does not wait on what lies outside it.
      const trx = await knex.transaction();
      const other = await knex.transaction();
      try {
        await fillAuditSlice(trx, T.auditEvents, sized, T.subjectEvents);
        await other.raw('SET SESSION innodb_lock_wait_timeout = 1');
        await other(T.auditEvents).where('position', first + 1).update({ actor: 'actor:user:other' });
        await other(T.auditEvents).where('position', last + 2).update({ actor: 'actor:user:other' });
        await other(T.auditEvents).insert({ ...model, position: head + many + 1, id: newId(), seq: null, batch_id: null, actor: 'actor:agent:key-1' });
        await other(T.subjectEvents).insert({ tenant: 'acme', ref: (await knex(T.subjectEvents).where('position', head).first('ref')).ref, position: head + many + 1 });
        // Its own rows it does hold.
        const refused = await other(T.auditEvents).where('position', first).update({ actor: 'actor:user:other' }).then(() => undefined, (err: Error) => err.message);
        expect(refused).to.match(/Lock wait timeout/);
      } finally {
        await other.rollback().catch(() => undefined);
        await trx.rollback();
      }
    });

    it('two projector processes: one fills at a time (MySQL, a named lock) while the other counts, shows what is left and leaves the fill to it; the gauge goes down slice by slice', async function () {
      if (dialect !== 'mysql') this.skip();
      const { head } = await log();
      const knex = t.db.knex;
      const model = await knex(T.auditEvents).where('position', head).first();
      const many = SLICE_ROWS + 500;
      for (let p = head + 1; p <= head + many; p += 250) {
        await knex(T.auditEvents).insert(Array.from({ length: 250 }, (_, i) => ({ ...model, position: p + i, id: newId(), seq: null, batch_id: null, actor: null })));
      }
      // The first repairer's second slice waits on an index row this test holds, its first slice committed.
      const { ref } = await knex(T.subjectEvents).where('position', head).first('ref');
      const held = await knex.transaction();
      const [a, b] = [new Registry(), new Registry()];
      const runs = { a: [] as unknown[], b: [] as unknown[] };
      const sweeps: { stop(): Promise<void> }[] = [];
      const gauge = async (r: Registry) => (await r.getSingleMetric(UNINDEXED_METRIC)!.get()).values[0]?.value;
      try {
        await held(T.subjectEvents).insert({ tenant: 'acme', ref, position: head + SLICE_ROWS + 100 });
        sweeps.push(startSubjectIndexRepair(knex, { registry: a, intervalMs: 60_000, onFilled: (r) => void runs.a.push(r), onSkipped: (r) => void runs.a.push({ skipped: r }), onError: (err) => void runs.a.push(String(err)) }));
        await until('the first fills its first slice', async () => (await gauge(a)) === 500);
        sweeps.push(startSubjectIndexRepair(knex, { registry: b, intervalMs: 60_000, onFilled: (r) => void runs.b.push(r), onSkipped: (r) => void runs.b.push({ skipped: r }), onError: (err) => void runs.b.push(String(err)) }));
        await until('the second leaves the fill to the first', async () => runs.b.length === 1);
        expect(runs.b).to.deep.equal([{ skipped: { found: 500 } }]);
        expect(await gauge(b)).to.equal(500);
        await held.commit();
        await until('the first fills the rest', async () => runs.a.length === 1);
      } finally {
        if (!held.isCompleted()) await held.rollback();
        for (const s of sweeps) await s.stop();
      }
      expect(runs.a).to.deep.equal([{ found: many, filled: many }]);
      expect(await gauge(a)).to.equal(0);
      expect(await unindexedEvents(knex)).to.equal(0);
      // The lock let go: the next fill runs.
      await appliedByOlderRelease([head]);
      const again: unknown[] = [];
      const sweep = startSubjectIndexRepair(knex, { registry: b, intervalMs: 60_000, onFilled: (r) => void again.push(r), onSkipped: (r) => void again.push({ skipped: r }) });
      await until('the next run fills', async () => again.length === 1).finally(() => sweep.stop());
      expect(again).to.deep.equal([{ found: 1, filled: 1 }]);
    });

    it("the sweep over many tenants: a seek per tenant to list them, one count per 500 of them, and the fill reads only the tenants with rows to fill", async () => {
      const { head } = await log();
      const knex = t.db.knex;
      const model = await knex(T.auditEvents).where('position', head).first();
      const many = 1200;
      for (let p = head + 1; p <= head + many; p += 300) {
        await knex(T.auditEvents).insert(Array.from({ length: 300 }, (_, i) => ({ ...model, position: p + i, id: newId(), seq: null, batch_id: null, tenant: `t-${p + i}`, actor: 'actor:user:someone' })));
      }
      await knex(T.auditEvents).whereIn('position', [head + 7, head + 900]).update({ actor: null });
      const tenants = (await knex(T.auditEvents).distinct('tenant')).length;
      let selects = 0;
      const listener = (q: { sql: string }) => {
        if (/^select /i.test(q.sql) && q.sql.includes(T.auditEvents)) selects++;
      };
      const runs: { found: number; filled: number }[] = [];
      knex.on('query', listener);
      const sweep = startSubjectIndexRepair(knex, { registry: new Registry(), intervalMs: 60_000, onFilled: (r) => void runs.push(r), onError: (err) => runs.push({ found: -1, filled: String(err) as never }) });
      try {
        await until('the sweep at start fills them', async () => runs.length === 1);
      } finally {
        await sweep.stop();
        knex.removeListener('query', listener);
      }
      expect(runs).to.deep.equal([{ found: 2, filled: 2 }]);
      // Listing the tenants (and the empty seek past the last), counting, and per tenant to fill: a seek for its rows, their bodies, the seek past them.
      expect(selects).to.equal(tenants + 1 + Math.ceil(tenants / 500) + 2 * 3);
    });

    it("no event is left with its actor but without its index rows, which the projectors' sweep would never find: not after a stopped start, an older projector writing meanwhile behind where it stopped", async () => {
      await log();
      const projected = await rows();
      const written = await actors();
      const sealedAt = [...new Set(projected.map((r) => r.position))];
      // Before the upgrade: no actors, no index.
      await t.db.knex.schema.dropTable(T.subjectEvents);
      await t.db.knex(T.auditEvents).update({ actor: null });
      await subjectEventsMigration(t.db.knex);
      // Say that start stopped (MySQL keeps each slice) after its last slice, and that a projector of
      // the release before, still running, then applied the first sealed event (a partition behind).
      await t.db.knex('knex_migrations').where({ name: '20261211050000_subject_events' }).delete();
      await appliedByOlderRelease([sealedAt[0]]);
      await subjectEventsMigration(t.db.knex);
      // Whatever the start filled, the sweep finds the rest: what the projector writes.
      await repairSubjectIndex(t.db.knex);
      expect(await actors()).to.deep.equal(written);
      expect(await rows()).to.deep.equal(projected);
    });

    it("a rebuild's fill of the live audit log's actors writes their index rows first: an older projector's row applied after the swap is not left with its actor and without its index rows", async () => {
      await log();
      const projected = await rows();
      const written = await actors();
      await appliedByOlderRelease(projected.map((r) => r.position));
      await projectionSchemas['subject-events'].fillLive!(t.db.knex);
      expect(await actors()).to.deep.equal(written);
      expect(await rows()).to.deep.equal(projected);
    });

    it("a rebuild of the audit log, which gives every row its actor, indexes the events an older projector left unindexed: the sweep no longer finds them by their missing actor", async () => {
      await log();
      const projected = await rows();
      const written = await actors();
      await appliedByOlderRelease(projected.map((r) => r.position));
      await rebuildProjection({ knex: t.db.knex, store: t.db.store }, 'audit-log');
      expect(await actors()).to.deep.equal(written);
      expect(await rows()).to.deep.equal(projected);
    });

    it('a start that stops during the backfill keeps what it filled on MySQL (each slice committed), so the next start goes on from there, not from where the one before began', async () => {
      const { head } = await log();
      const knex = t.db.knex;
      // 1,100 more events in the audit log (as projected before the upgrade), then one the backfill fails on.
      const model = await knex(T.auditEvents).where('position', head).first();
      const clone = (position: number, body?: string) => {
        const id = newId();
        return { ...model, position, id, seq: null, batch_id: null, body: body ?? JSON.stringify({ ...JSON.parse(String(model.body)), id, position }) };
      };
      for (let p = head + 1; p <= head + 1100; p += 100) await knex(T.auditEvents).insert(Array.from({ length: 100 }, (_, i) => clone(p + i)));
      await knex(T.auditEvents).insert(clone(head + 1101, '{"ct": cut short'));
      // Upgrading: the migration not recorded, the actors and the index only as far as a stopped first run filled them.
      await knex('knex_migrations').where({ name: '20261211050000_subject_events' }).delete();
      await knex(T.subjectEvents).where('position', '>', 3).delete();
      await knex(T.auditEvents).where('position', '>', 3).update({ actor: null });
      const failed = await migrateLatest(knex).then(() => undefined, (err: Error) => err);
      expect(failed, 'the backfill stops on the broken body').to.be.instanceOf(Error);
      const filled = async () => Number((await knex(T.subjectEvents).where('position', '>', head).countDistinct({ n: 'position' }))[0].n);
      // MySQL: the slice before it is kept. SQLite: the start is one transaction, nothing of it left (nor knex's lock).
      if (dialect === 'mysql') expect(await filled(), 'the slice before it is kept').to.be.within(1, 1099);
      else expect(await filled(), 'nothing of the stopped start').to.equal(0);
      await knex(T.auditEvents).where('position', head + 1101).delete();
      expect((await migrateLatest(knex)).applied).to.deep.equal(['20261211050000_subject_events']);
      expect(await filled()).to.equal(1100);
    });
  });
}
