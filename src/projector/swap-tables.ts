import type { Knex } from 'knex';
import { dialectOf } from '../db/knex';

export type TableSwap = { live: string; fresh: string; old: string };

/**
 * Put each `fresh` table in place of its `live` one, keeping the previous as `old`, atomically
 * for readers: they see all the old tables or all the new ones.
 * MySQL: one `RENAME TABLE live TO old, fresh TO live, …` statement (atomic; waits for running
 * queries on those tables; commits implicitly, the caller's transaction first). SQLite:
 * `ALTER TABLE … RENAME TO …` inside the caller's transaction, which readers in WAL mode see only
 * once it commits. So whatever must change together with the tables is itself one of the swapped
 * tables (the cache epoch's: stageCacheEpoch), never a write after the swap, which MySQL commits
 * separately and which may fail with the swap done.
 */
export async function swapTables(trx: Knex.Transaction, swaps: TableSwap[]): Promise<void> {
  if (dialectOf(trx) === 'mysql') {
    const parts = swaps.flatMap((s) => [`\`${s.live}\` TO \`${s.old}\``, `\`${s.fresh}\` TO \`${s.live}\``]);
    await trx.raw(`RENAME TABLE ${parts.join(', ')}`);
    return;
  }
  for (const s of swaps) {
    await trx.raw(`ALTER TABLE "${s.live}" RENAME TO "${s.old}"`);
    await trx.raw(`ALTER TABLE "${s.fresh}" RENAME TO "${s.live}"`);
  }
}
