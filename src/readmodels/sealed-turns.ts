import type { Knex } from 'knex';
import { indexedRef, kidRef } from '../../projections/subject-events.projection';
import type { ReadModelTables } from '../../projections/tables';
import type { IndexHints } from '../db/index-names';
import { subjectPositions } from './subject-positions';

/** A model turn sealed under a data key (InferenceCompleted): its promptHash, salted (v8 `promptHashScheme`) or plain. */
export type SealedTurn = { position: number; promptHash: string; salted: boolean };

/** One page of sealedTurns: `next`, the position to read on after, while the index may hold more. */
export type SealedTurnsPage = { turns: SealedTurn[]; next?: number };

/**
 * The InferenceCompleted events of `tenant` with a salt sealed under one of `kids` (the subject
 * index: a hash-only turn under `encrypted`, v7 on), among the first `limit` positions after
 * `after` that the index holds for those keys: a page costs `kids × limit` index entries and the
 * bodies of the turns among them, however many events the subject has. A page may hold no turn and
 * still have `next`: its positions were the subject's tool calls.
 * @example await sealedTurns(knex, LIVE_TABLES, hints, 'acme', ['0193…'], { limit: 500 }) // { turns: [{ position: 42, promptHash: '0x…', salted: true }], next: 611 }
 */
export async function sealedTurns(db: Knex, t: ReadModelTables, hints: IndexHints, tenant: string, kids: readonly string[], page: { after?: number; limit: number }): Promise<SealedTurnsPage> {
  const ranges = [...new Set(kids.map((kid) => indexedRef(kidRef(kid))))].map((ref) => ({ table: t.subjectEvents, index: ['tenant', 'ref', 'position'], where: { tenant, ref } }));
  const positions = ranges.length ? await subjectPositions(db, hints, { ranges, after: page.after, limit: page.limit }) : [];
  const rows = positions.length ? await db(t.auditEvents).whereIn('position', positions).where({ type: 'InferenceCompleted', tenant }).select('position', 'body') : [];
  const turns = rows.flatMap((r: { position: number | string; body: string }) => {
    const d = (JSON.parse(String(r.body)) as { data?: { promptHash?: unknown; promptHashScheme?: unknown } }).data;
    return typeof d?.promptHash === 'string' ? [{ position: Number(r.position), promptHash: d.promptHash, salted: d.promptHashScheme !== undefined }] : [];
  });
  turns.sort((a, b) => a.position - b.position);
  return positions.length === page.limit ? { turns, next: positions[positions.length - 1] } : { turns };
}
