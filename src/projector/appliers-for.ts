import { defaultAppliers } from '../../projections';
import type { ProjectionApplier } from '../../projections/projection';
import type { EventStore } from '../eventstore/port';

/**
 * The projections for the log in `store`. The audit seq is the global position only on the SQL
 * store, whose positions are gap-free from 0 (DESIGN.md); KurrentDB positions are commit
 * positions with gaps, the sealer numbers its events itself, so the audit log leaves seq and
 * batch empty there rather than show a position as a seq (and the batch whose seq range it hits).
 * @example new Projector({ knex, bus, appliers: appliersFor(store) })
 */
export function appliersFor(store: Pick<EventStore, 'gapFreePositions'>): ProjectionApplier[] {
  return defaultAppliers({ seqFromPosition: store.gapFreePositions === true });
}
