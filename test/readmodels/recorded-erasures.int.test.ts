import { expect } from 'chai';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { LIVE_TABLES } from '../../projections/tables';
import { openKnex } from '../../src/db/knex';
import { reapplyRecordedErasures } from '../../src/readmodels/reapply-recorded-erasures';
import { startRecordedErasureSweep } from '../../src/readmodels/recorded-erasure-sweep';
import { SUBJECT_KEYS_TABLE, SqlSubjectKeyStore } from '../../src/erasure/sql-subject-key-store';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

/**
 * A database restored from a backup taken before an erasure brings the erased key back, while the
 * log (KurrentDB, or a later backup of it) still records SubjectKeyErased: the key is erased again.
 */
function contract(name: string, open: () => Promise<{ knex: Knex; close(): Promise<void> }>, requires?: (ctx: Mocha.Context) => Promise<void>) {
  describe(`erasures the log records are applied to subject keys brought back: ${name}`, function () {
    this.timeout(30_000);
    let env: Awaited<ReturnType<typeof open>>;
    let position = 0;
    before(async function () {
      if (requires) await requires(this);
      env = await open();
    });
    after(async () => env?.close());

    /** What the audit-log projection writes for SubjectKeyErased {kid}. */
    async function recordErasure(kid: string, occurredAt: string): Promise<number> {
      const p = ++position;
      const envelope = { id: `e-${p}`, type: 'SubjectKeyErased', version: 1, stream: `subject-${kid}`, occurredAt, tenant: 'acme', actor: { kind: 'user', id: 'admin' }, data: { kid } };
      await env.knex(LIVE_TABLES.auditEvents).insert({ position: p, id: envelope.id, stream: envelope.stream, revision: 0, type: envelope.type, tenant: 'acme', occurred_at: occurredAt, hash: `0x${'0'.repeat(64)}`, body: JSON.stringify(envelope) });
      return p;
    }

    it('erases a live key whose erasure the log records, with the time recorded; leaves other keys; a second run finds nothing', async () => {
      const keys = new SqlSubjectKeyStore(env.knex);
      const restored = await keys.keyFor('acme:user:restored');
      const other = await keys.keyFor('acme:user:other');
      // Erased, then its row put back as the backup held it.
      const row = await env.knex(SUBJECT_KEYS_TABLE).where({ kid: restored.kid }).first();
      await keys.erase('acme:user:restored');
      const at = '2026-12-07T01:00:00.000Z';
      const p = await recordErasure(restored.kid, at);
      await env.knex(SUBJECT_KEYS_TABLE).where({ kid: restored.kid }).update(row);
      expect((await keys.keyById(restored.kid))?.equals(restored.key)).to.equal(true);

      expect(await reapplyRecordedErasures(env.knex)).to.deep.equal({ erased: [restored.kid], through: p });
      expect(await keys.keyById(restored.kid)).to.equal(undefined);
      expect(await keys.keysOf('acme:user:restored')).to.deep.equal([{ kid: restored.kid, createdAt: row.created_at, erasedAt: at }]);
      expect((await keys.keyById(other.kid))?.equals(other.key)).to.equal(true);
      // The subject's next key is a new one, as after any erasure.
      expect((await keys.keyFor('acme:user:restored')).kid).to.not.equal(restored.kid);
      expect(await reapplyRecordedErasures(env.knex)).to.deep.equal({ erased: [], through: p });
      expect(await reapplyRecordedErasures(env.knex, p)).to.deep.equal({ erased: [], through: p });
    });

    it('reads only erasures after `after`, and an erasure of a key never made here changes nothing', async () => {
      const keys = new SqlSubjectKeyStore(env.knex);
      const k = await keys.keyFor('acme:user:later');
      const first = await recordErasure('01a24e00-0000-7000-8000-000000000000', '2026-12-07T02:00:00.000Z');
      const second = await recordErasure(k.kid, '2026-12-07T02:00:01.000Z');
      expect(await reapplyRecordedErasures(env.knex, second)).to.deep.equal({ erased: [], through: second });
      expect(await keys.keyById(k.kid)).to.not.equal(undefined);
      expect(await reapplyRecordedErasures(env.knex, first)).to.deep.equal({ erased: [k.kid], through: second });
    });

    it('of processes erasing the same key at once (all started after a restore), only the one whose update cleared it reports it', async () => {
      const keys = new SqlSubjectKeyStore(env.knex);
      const k = await keys.keyFor('acme:user:raced');
      const p = await recordErasure(k.kid, '2026-12-07T02:30:00.000Z');
      const runs = await Promise.all([1, 2, 3].map(() => reapplyRecordedErasures(env.knex, p - 1)));
      expect(runs.flatMap((r) => r.erased)).to.deep.equal([k.kid]);
      expect(await keys.keyById(k.kid)).to.equal(undefined);
    });

    it('the sweep erases such a key at its first run, then each run reads on from where the last ended', async () => {
      const keys = new SqlSubjectKeyStore(env.knex);
      const k = await keys.keyFor('acme:user:swept');
      await recordErasure(k.kid, '2026-12-07T03:00:00.000Z');
      const found: string[][] = [];
      // Waits below are bounded at 10 s each (was 200 rounds of 10 ms: a sweep of a loaded database can take longer).
      const sweep = startRecordedErasureSweep(env.knex, { intervalMs: 10, onErased: (kids) => void found.push(kids), onError: (err) => void found.push([String(err)]) });
      try {
        const next = await keys.keyFor('acme:user:swept-later');
        for (const end = Date.now() + 10_000; found.length === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
        await recordErasure(next.kid, '2026-12-07T03:00:01.000Z');
        for (const end = Date.now() + 10_000; found.length < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
      } finally {
        await sweep.stop();
      }
      expect(found).to.deep.equal([[k.kid], [(await keys.keysOf('acme:user:swept-later'))[0].kid]]);
      expect(await keys.keyById(k.kid)).to.equal(undefined);
    });

    it('a process running across a restore finds the keys it brought back: every so often a run reads all the erasures the log records again', async () => {
      const keys = new SqlSubjectKeyStore(env.knex);
      const k = await keys.keyFor('acme:user:restored-under-a-running-process');
      const row = await env.knex(SUBJECT_KEYS_TABLE).where({ kid: k.kid }).first();
      await keys.erase('acme:user:restored-under-a-running-process');
      await recordErasure(k.kid, '2026-12-07T04:00:00.000Z');
      const later = await keys.keyFor('acme:user:erased-after');
      await recordErasure(later.kid, '2026-12-07T04:00:01.000Z');
      const found: string[][] = [];
      const sweep = startRecordedErasureSweep(env.knex, { intervalMs: 10, fullPassMs: 50, onErased: (kids) => void found.push(kids), onError: (err) => void found.push([String(err)]) });
      try {
        for (const end = Date.now() + 10_000; found.length === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
        expect(found).to.deep.equal([[later.kid]]);
        // The restore, after the sweep read past the erasure: the key is live again, its erasure below where the sweep reads on.
        await env.knex(SUBJECT_KEYS_TABLE).where({ kid: k.kid }).update(row);
        for (const end = Date.now() + 10_000; found.length < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
      } finally {
        await sweep.stop();
      }
      expect(found).to.deep.equal([[later.kid], [k.kid]]);
      expect(await keys.keyById(k.kid)).to.equal(undefined);
    });
  });
}

contract('SQLite', async () => {
  const knex = await openKnex('sqlite::memory:');
  await migrateLatest(knex);
  return { knex, close: () => knex.destroy() };
});

contract(
  'MariaDB',
  async () => {
    const db = await createTestDatabase('omc_recorded_erasures');
    const knex = await openKnex(db.url);
    await migrateLatest(knex);
    return {
      knex,
      close: async () => {
        await knex.destroy();
        await db.drop();
      },
    };
  },
  (ctx) => requireService(ctx, 'MariaDB', mysqlAvailable),
);
