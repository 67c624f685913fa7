import { errorCodeOf } from '../core/errors';
import { isConnectionFailure } from '../db/connection-failure';

/**
 * The code `err` counts under in `openmcp_errors_total`: errorCodeOf, except that a database or
 * network outage a driver reports raw (`ECONNREFUSED`, `PROTOCOL_CONNECTION_LOST`, `SQLITE_BUSY`,
 * a knex pool timeout: isConnectionFailure) counts as `DEPENDENCY_UNAVAILABLE`, the code the
 * adapters that wrap such errors report. So an outage counts under one catalogue code
 * (docs/errors.md) whichever role or adapter met it, and the alert on that code sees it.
 * @example metrics.errors.inc({ code: countedErrorCode(err) })
 */
export function countedErrorCode(err: unknown): string {
  return isConnectionFailure(err) ? 'DEPENDENCY_UNAVAILABLE' : errorCodeOf(err);
}
