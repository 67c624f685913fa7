import type { Knex } from 'knex';
import { LIVE_TABLES } from '../../projections/tables';
import { SUBJECT_KEYS_TABLE } from '../erasure/sql-subject-key-store';

const PAGE = 1000;

export type ReapplyRecordedErasuresReturnType = {
  /** The kids found live and erased now, by this run (not those another process's run cleared first). */
  erased: string[];
  /** The position of the last SubjectKeyErased read (`after` when there was none): the next run's `after`. */
  through: number;
};

/**
 * Erase again every data key that the log records as erased (SubjectKeyErased, read from the audit
 * read model at positions after `after`) but that `subject_keys` still holds: a database restored
 * from a backup taken before the erasure brought it back, readable again. Its `erased_at` becomes
 * the time the log recorded. A key is deleted before its erasure is recorded (eraseSubjectKey), so
 * otherwise this finds nothing. Safe to run in many processes at once: each update only clears.
 * @example const { erased, through } = await reapplyRecordedErasures(knex, lastThrough)
 */
export async function reapplyRecordedErasures(knex: Knex, after = -1, auditEvents = LIVE_TABLES.auditEvents): Promise<ReapplyRecordedErasuresReturnType> {
  const erased: string[] = [];
  let through = after;
  for (;;) {
    const rows: { position: number | string; body: string }[] = await knex(auditEvents).where({ type: 'SubjectKeyErased' }).where('position', '>', through).orderBy('position').limit(PAGE).select('position', 'body');
    if (!rows.length) return { erased, through };
    const recorded = new Map<string, string>();
    for (const r of rows) {
      const e = JSON.parse(r.body) as { occurredAt: string; data: { kid: string } };
      recorded.set(e.data.kid, e.occurredAt);
    }
    const live: { kid: string }[] = await knex(SUBJECT_KEYS_TABLE).whereIn('kid', [...recorded.keys()]).whereNotNull('key_hex').select('kid');
    for (const { kid } of live) {
      const cleared = await knex(SUBJECT_KEYS_TABLE).where({ kid }).whereNotNull('key_hex').update({ key_hex: null, live_subject_hash: null, erased_at: recorded.get(kid) });
      // Another process's run (or an erasure) may have cleared it since the select: reported by that one.
      if (cleared) erased.push(String(kid));
    }
    through = Number(rows[rows.length - 1].position);
    if (rows.length < PAGE) return { erased, through };
  }
}
