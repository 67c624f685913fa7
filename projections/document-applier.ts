import type { Knex } from 'knex';
import type { RecordedEvent } from '../src/core/envelope';
import type { ReadModelTables } from './tables';
import type { DocumentProjection, ProjectionApplier, Touched } from './projection';

export type DocumentChange<Doc> = { id: string; doc: Doc; previous?: Doc };

/** Where a document projection keeps its documents (one SQL adapter per projection). */
export interface DocumentStore<Doc> {
  load(db: Knex.Transaction, tables: ReadModelTables, ids: string[]): Promise<Map<string, Doc>>;
  save(db: Knex.Transaction, tables: ReadModelTables, changes: DocumentChange<Doc>[]): Promise<void>;
  /** Delete the documents `ids` (with the rows that hang on them), for a replay of their streams. */
  delete?(db: Knex.Transaction, tables: ReadModelTables, ids: string[]): Promise<void>;
  /** Mark caches depending on `doc`; called for every document the batch visited, changed or not. */
  touch?(doc: Doc, touched: Touched): void;
}

/**
 * Apply a batch to a document projection: load every document the batch names in one query,
 * fold the events through `evolve` in memory, write only the documents that changed.
 * Unchanged documents are still reported to `touch` so that a redelivered batch (for instance
 * after a crash between commit and cache update) repairs the caches.
 */
export function documentApplier<Doc>(projection: DocumentProjection<Doc>, store: DocumentStore<Doc>): ProjectionApplier {
  const applier: ProjectionApplier = {
    name: projection.name,
    canHandle: (e) => projection.canHandle(e),
    async apply(trx, tables, events: RecordedEvent[], touched) {
      const ids = [...new Set(events.map((e) => projection.documentId(e)))];
      const loaded = await store.load(trx, tables, ids);
      const current = new Map(loaded);
      for (const e of events) {
        const id = projection.documentId(e);
        const next = projection.evolve(current.get(id), e);
        if (next !== undefined) current.set(id, next);
      }
      const changes: DocumentChange<Doc>[] = [];
      for (const [id, doc] of current) {
        if (doc !== loaded.get(id)) changes.push({ id, doc, previous: loaded.get(id) });
        store.touch?.(doc, touched);
      }
      if (changes.length) await store.save(trx, tables, changes);
    },
  };
  const remove = store.delete;
  if (!remove) return applier;
  return {
    ...applier,
    async replay(trx, tables, events, touched) {
      const ids = [...new Set(events.map((e) => projection.documentId(e)))];
      // The documents as they were, so that caches of one the events no longer make are refreshed too.
      for (const doc of (await store.load(trx, tables, ids)).values()) store.touch?.(doc, touched);
      await remove(trx, tables, ids);
      await applier.apply(trx, tables, events, touched);
    },
  };
}
