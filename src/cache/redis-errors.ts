import { NETWORK_ERROR_CODES, UnavailableError, redactUrlsIn } from '../core/errors';

/**
 * What ioredis rejects a command with when it got no answer over the connection: it gave up
 * reconnecting for it (MaxRetriesPerRequestError), the connection closed under it or was closed
 * (the `AbortError`s, "Connection is closed."), no reply came in time (`commandTimeout`), or it
 * could not be queued while offline.
 */
const CLIENT_MESSAGES = new Set(['Connection is closed.', 'Command timed out', "Stream isn't writeable and enableOfflineQueue options is false"]);

/**
 * Replies of a server that is there but cannot serve a moment: loading its dataset after a
 * restart (LOADING), a replica since a failover (READONLY), a replica whose primary is gone
 * (MASTERDOWN), busy in another client's long script (BUSY), a cluster resharding or down.
 */
const UNAVAILABLE_REPLIES = new Set(['LOADING', 'READONLY', 'MASTERDOWN', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN']);

/**
 * Whether a Redis command's error says Redis is unreachable or unavailable a moment, so the same
 * command may well succeed later. Never a script's own error, WRONGTYPE, a full Redis (OOM), bad
 * arguments or a bug: those fail the same way every time.
 * @example if (isRedisConnectionFailure(err)) throw new UnavailableError('redis', …, err)
 */
export function isRedisConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown };
  if (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code)) return true;
  if (e.name === 'MaxRetriesPerRequestError' || e.name === 'AbortError' || e.name === 'InterruptError') return true;
  if (e.name === 'ReplyError') return UNAVAILABLE_REPLIES.has(e.message.split(' ', 1)[0]);
  return CLIENT_MESSAGES.has(e.message);
}

/**
 * The Redis adapter's error for command `op` failing with `err`: UnavailableError
 * (DEPENDENCY_UNAVAILABLE, `err` as its cause) when isRedisConnectionFailure, naming the
 * connection's latest error when there is one (why it is closed); anything else as it is.
 * Callers tell "try again later" from "this will fail again" by that class alone.
 */
export function toRedisCacheError(err: unknown, op: string, connectionError?: Error): unknown {
  if (!isRedisConnectionFailure(err)) return err;
  const e = err as Error;
  // ioredis's own text names an option nobody here sets.
  const why = e.name === 'MaxRetriesPerRequestError' ? 'not connected' : e.message;
  const reason = connectionError && connectionError.message !== e.message ? `${why} (${connectionError.message})` : why;
  return new UnavailableError('redis', `${op}: ${redactUrlsIn(reason)}`, err);
}
