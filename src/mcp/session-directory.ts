import { LoggingLevelSchema, type ClientCapabilities, type Implementation, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { Cache } from '../cache/port';
import type { Actor } from '../core/envelope';
import { UnavailableError } from '../core/errors';
import { NO_ANSWER, within } from '../core/within';

/**
 * What a replica needs to rebuild an /mcp session it did not open: the owner, and the parameters
 * of the client's initialize request. Never the API key: every request authenticates on its own.
 */
export type SessionRecord = {
  tenant: string;
  actor: Actor;
  protocolVersion: string;
  clientInfo: Implementation;
  capabilities: ClientCapabilities;
  createdAt: string;
};

// A directory that does not answer must not hold the request: it fails like one that is down.
const TIMEOUT_MS = 2_000;

const keyOf = (id: string): string => `mcp-session:${id}`;
/**
 * The level the client set with logging/setLevel, beside the record rather than in it: the
 * directory has no conditional write, and rewriting the record could undo a DELETE landing meanwhile.
 */
const levelKeyOf = (id: string): string => `mcp-session:${id}:log-level`;

async function guarded<T>(op: string, work: Promise<T>): Promise<T> {
  try {
    const answer = await within(TIMEOUT_MS, work);
    if (answer === NO_ANSWER) throw new Error(`no answer in ${TIMEOUT_MS} ms`);
    return answer;
  } catch (err) {
    throw new UnavailableError('mcp session directory', `${op}: ${(err as Error).message}`, err);
  }
}

/** Record session `id` for `ttlMs` (the idle timeout). Throws UnavailableError when the cache fails. */
export function saveSession(cache: Cache, id: string, record: SessionRecord, ttlMs: number): Promise<void> {
  return guarded('save', cache.set(keyOf(id), JSON.stringify(record), ttlMs));
}

/** What DELETE leaves behind: a replica still holding the session learns it ended, instead of seeing a lost entry. */
const ENDED = '{"ended":true}';

/**
 * The record of session `id`, or undefined when no replica may serve it (never opened, ended,
 * idle past its TTL, or unreadable). Throws UnavailableError when the cache fails.
 */
export async function loadSession(cache: Cache, id: string): Promise<SessionRecord | undefined> {
  const raw = await guarded('load', cache.get(keyOf(id)));
  if (raw === undefined || raw === ENDED) return undefined;
  try {
    return JSON.parse(raw) as SessionRecord;
  } catch {
    return undefined;
  }
}

/**
 * Give session `id`, in use on this replica, another `ttlMs`; false when it was ended (DELETE
 * through another replica). Only the entry's TTL is renewed, its value left as it is; an entry
 * that is missing (evicted by a cache under memory pressure, or flushed) is written again from
 * `record` only while still absent, so eviction never ends a session in use. Neither write can
 * undo a DELETE landing at any moment: its "ended" marker is kept, and seen here or next time.
 */
export async function touchSession(cache: Cache, id: string, record: SessionRecord, ttlMs: number): Promise<boolean> {
  const key = keyOf(id);
  // The log level lives as long as its session (none set: nothing to renew).
  await guarded('refresh', cache.expire(levelKeyOf(id), ttlMs));
  if (!(await guarded('refresh', cache.expire(key, ttlMs)))) await guarded('refresh', cache.setIfAbsent(key, JSON.stringify(record), ttlMs));
  return (await guarded('refresh', cache.get(key))) !== ENDED;
}

/** Mark session `id` ended (the client sent DELETE) for `ttlMs`, so every replica drops it. Throws UnavailableError when the cache fails. */
export async function endSession(cache: Cache, id: string, ttlMs: number): Promise<void> {
  await guarded('end', cache.set(keyOf(id), ENDED, ttlMs));
  await guarded('end', cache.del(levelKeyOf(id)));
}

/** Drop the entry of a session that never came to be (its initialize was refused). */
export function removeSession(cache: Cache, id: string): Promise<void> {
  return guarded('remove', cache.del(keyOf(id)));
}

/**
 * Record the level session `id`'s client set with logging/setLevel, for `ttlMs` (the idle
 * timeout; touchSession renews it with the session). Throws UnavailableError when the cache fails.
 */
export function saveLogLevel(cache: Cache, id: string, level: LoggingLevel, ttlMs: number): Promise<void> {
  return guarded('save log level', cache.set(levelKeyOf(id), level, ttlMs));
}

/** The level session `id`'s client set, or undefined when it set none. Throws UnavailableError when the cache fails. */
export async function loadLogLevel(cache: Cache, id: string): Promise<LoggingLevel | undefined> {
  const raw = await guarded('load log level', cache.get(levelKeyOf(id)));
  const level = LoggingLevelSchema.safeParse(raw);
  return level.success ? level.data : undefined;
}
