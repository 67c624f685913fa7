import type { RecordedEvent } from '../core/envelope';
import { errorCodeOf, OpenMcpError } from '../core/errors';

/** What went wrong, without the statement a database driver puts before it (and its values after). */
function reason(err: unknown): string {
  const sqlMessage = (err as { sqlMessage?: unknown } | null)?.sqlMessage;
  if (typeof sqlMessage === 'string') return sqlMessage;
  return err instanceof Error ? err.message : String(err);
}

/**
 * A projection could not apply a batch of events (a poison event: data its tables cannot hold, a
 * bug; or its database failing meanwhile). Nothing of the batch is written; the bus delivers it
 * again, so the projections hold at it until it applies: never skipped. Names the projection and
 * the events, which a driver's error does not.
 */
export class ProjectionFailedError extends OpenMcpError {
  constructor(projection: string, events: RecordedEvent[], cause: unknown) {
    const first = events[0];
    const last = events[events.length - 1];
    const where = events.length === 1 ? `event ${first.id} (${first.type} in ${first.stream}) at position ${first.position}` : `${events.length} events at positions ${first.position}..${last.position} (the first ${first.type} in ${first.stream})`;
    super('PROJECTION_FAILED', `projection ${projection} could not apply ${where}: ${reason(cause)}`, {
      cause,
      details: { projection, firstPosition: first.position, lastPosition: last.position, events: events.length, cause: errorCodeOf(cause) },
    });
  }
}
