import { sqlOutage } from '../../db/connection-failure';
import type { Dialect } from '../../db/knex';

/**
 * The SQL store's error for `err`: UnavailableError (DEPENDENCY_UNAVAILABLE, the driver's error as
 * its cause) when the database is unreachable or busy for a moment (isConnectionFailure), as the
 * KurrentDB adapter reports an outage; anything else as it is (a conflict, a refusal, a bug).
 * Callers tell "try again later" from "this will fail again" by that class alone.
 */
export function toSqlStoreError(err: unknown, dialect: Dialect, context: { op: string; stream?: string }): unknown {
  return sqlOutage(err, `event store (${dialect})`, `${context.op}${context.stream ? ` ${context.stream}` : ''}`);
}
