import type { Knex } from 'knex';
import type { CheckpointStore } from './port';

/**
 * Upsert a checkpoint row. Takes a transaction too, so a projector can write its read-model rows
 * and its checkpoint atomically.
 * @example await saveCheckpoint(trx, 'projection:tasks', 41)
 */
export async function saveCheckpoint(db: Knex | Knex.Transaction, name: string, position: number): Promise<void> {
  await db('checkpoints')
    .insert({ name, position, updated_at: new Date().toISOString() })
    .onConflict('name')
    .merge(['position', 'updated_at']);
}

export async function loadCheckpoint(db: Knex | Knex.Transaction, name: string): Promise<number | undefined> {
  const row = await db('checkpoints').where({ name }).first('position');
  return row === undefined ? undefined : Number(row.position);
}

/** Checkpoints in the `checkpoints` table of the event store's database (migrations must have run). */
export class SqlCheckpointStore implements CheckpointStore {
  constructor(private readonly knex: Knex) {}

  load(name: string): Promise<number | undefined> {
    return loadCheckpoint(this.knex, name);
  }

  save(name: string, position: number): Promise<void> {
    return saveCheckpoint(this.knex, name, position);
  }
}
