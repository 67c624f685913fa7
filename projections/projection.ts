import type { Knex } from 'knex';
import type { RecordedEvent } from '../src/core/envelope';
import type { ReadModelTables } from './tables';

/**
 * A document projection (STYLE.md §3): which events it reads, which document an event changes,
 * and a pure `evolve`. `evolve` is idempotent: given an event it has already applied it returns
 * `current` itself (same reference), so a redelivered batch writes nothing. Returning undefined
 * means "no document" (an event for a document that was never created is ignored).
 */
export interface DocumentProjection<Doc> {
  readonly name: string;
  canHandle(event: RecordedEvent): boolean;
  documentId(event: RecordedEvent): string;
  evolve(current: Doc | undefined, event: RecordedEvent): Doc | undefined;
}

/** What a batch touched, so that caches can be refreshed once the transaction has committed. */
export type Touched = { taskIds: Set<string>; catalogTenants: Set<string> };

export const emptyTouched = (): Touched => ({ taskIds: new Set(), catalogTenants: new Set() });

/**
 * Writes one projection's effect of a batch into its tables inside the caller's transaction.
 * The projector runs every applier of a batch and the checkpoints in one transaction; a rebuild
 * runs one applier against fresh tables.
 */
export interface ProjectionApplier {
  /** The projection's name: the unit of `openmcp projections rebuild <name>`. */
  readonly name: string;
  canHandle(event: RecordedEvent): boolean;
  /** `events` are those this applier can handle, in delivery order. */
  apply(trx: Knex.Transaction, tables: ReadModelTables, events: RecordedEvent[], touched: Touched): Promise<void>;
  /**
   * Replace the documents `events` change with what `events` alone make of them: delete them,
   * then apply `events`. Requires `events` to be every event of their streams this applier can
   * handle, in revision order (a stream read back from the event store), and each document to be
   * made by one stream's events. Only projections that fold a document in stream order have it:
   * the repair of a stream whose later events were applied before its earlier ones (GapRepair).
   */
  replay?(trx: Knex.Transaction, tables: ReadModelTables, events: RecordedEvent[], touched: Touched): Promise<void>;
}
