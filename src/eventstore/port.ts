import { EVENT_TYPE_RE, STREAM_PREFIX_RE, STREAM_RE, type PendingEvent, type RecordedEvent } from '../core/envelope';
import { OpenMcpError, ValidationError } from '../core/errors';
import { isHex32 } from '../core/hex';

/**
 * What the caller expects the stream to be before the append:
 * - 'any': no check;
 * - 'no_stream': the stream must not exist;
 * - n: the stream's last event must have revision n.
 */
export type ExpectedRevision = 'any' | 'no_stream' | number;

export type AppendOptions = { expectedRevision?: ExpectedRevision };

export type AppendResult = {
  /** Revision of the last event now in the stream (pass it as the next expectedRevision). */
  nextExpectedRevision: number;
  /** Global position of the last appended event. */
  position: number;
  /** The events as stored, with revision and position. */
  events: RecordedEvent[];
};

export type ReadStreamOptions = {
  fromRevision?: number;
  direction?: 'forwards' | 'backwards';
  maxCount?: number;
};

export type ReadAllOptions = {
  /** Exclusive: read events whose position is greater. Omit to read from the start. */
  after?: number;
  /**
   * Inclusive: read events from this position on; it must be an event's position (a sealed
   * batch's `firstPosition`): KurrentDB refuses a read from inside a record, so `after` =
   * position - 1 works only where positions are gap-free. Not with `after`.
   */
  from?: number;
  /** At most this many events (default 1000); page on with `after` = the last position seen. */
  limit?: number;
  /**
   * Only events of streams whose name starts with this, still in global order with their global
   * positions (`limit` counts the events returned). For reading a few streams out of a large log
   * (the MCP registry at start-up): the SQL store finds them through its stream index, KurrentDB
   * filters on the server, so the cost follows the matching streams' events, not the log's size.
   */
  streamPrefix?: string;
};

export type SubscribeOptions = {
  /** Exclusive start position; omit for the beginning of the log. */
  after?: number;
  /**
   * Only events of streams whose name starts with this (e.g. `mcpserver-`), still in global
   * order with their global positions. Filtered in the store where it can (SQL, KurrentDB's
   * server-side filter), so a follower of a few streams does not read the whole log.
   */
  streamPrefix?: string;
};

/** Refuse a `streamPrefix` that is not the start of a stream name (`<aggregate>-…`). */
export function assertStreamPrefix(prefix: string | undefined): void {
  if (prefix !== undefined && !STREAM_PREFIX_RE.test(prefix)) {
    throw new ValidationError(`streamPrefix ${JSON.stringify(prefix)}: expected the start of a stream name (<aggregate>-…)`, { field: 'streamPrefix' });
  }
}

/** The same event id stored before with different content or in another place (every adapter). */
export class EventIdConflictError extends OpenMcpError {
  constructor(id: string, detail: string) {
    super('EVENT_ID_CONFLICT', `event ${id} was already appended ${detail}`, { status: 409, details: { id } });
  }
}

/**
 * An event id as every store gives it back: a UUID in lowercase. KurrentDB keeps ids as UUIDs
 * and returns them in lowercase, so another spelling was written there and then read as a record
 * that is not ours (its stream unreadable, the global log silently without it).
 */
const EVENT_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The longest stream name and tenant every store keeps whole (the SQL `events` columns). */
const MAX_STREAM_LENGTH = 200;
const MAX_TENANT_LENGTH = 100;

/**
 * What every adapter refuses before the store sees it: a stream name that is not
 * `<aggregate>-<id>` of at most 200 characters, no events, an event of another stream, an id
 * that is not a lowercase UUID or appears twice in one append, a type that is not PascalCase
 * (KurrentDB takes `$` types for its own), a tenant that is empty or over 100 characters, a
 * hash that is not `0x` and 64 lowercase hex digits (stored, it could never leave the append-only
 * log, and the sealer, which never skips an event, would stop on it for good).
 * Anything one store kept and another refused or lost must fail the same everywhere.
 * Returns the error (naming the field), or undefined when the append may go ahead.
 */
export function appendInputError(stream: string, events: PendingEvent[]): ValidationError | undefined {
  if (!STREAM_RE.test(stream) || stream.length > MAX_STREAM_LENGTH) {
    return new ValidationError(`stream ${JSON.stringify(stream.slice(0, 300))}: expected <aggregate>-<id>, at most ${MAX_STREAM_LENGTH} characters`, { field: 'stream' });
  }
  if (events.length === 0) return new ValidationError('append needs at least one event', { field: 'events' });
  const ids = new Set<string>();
  for (const e of events) {
    if (e.stream !== stream) return new ValidationError(`event ${e.id} belongs to ${e.stream}, not ${stream}`, { field: 'stream' });
    if (typeof e.id !== 'string' || !EVENT_ID_RE.test(e.id)) return new ValidationError(`event id ${JSON.stringify(e.id)}: expected a UUID in lowercase`, { field: 'id' });
    if (typeof e.type !== 'string' || !EVENT_TYPE_RE.test(e.type)) return new ValidationError(`event ${e.id}: type ${JSON.stringify(e.type)}: expected PascalCase`, { field: 'type' });
    if (typeof e.tenant !== 'string' || e.tenant.length === 0 || e.tenant.length > MAX_TENANT_LENGTH) {
      return new ValidationError(`event ${e.id}: tenant: expected 1 to ${MAX_TENANT_LENGTH} characters`, { field: 'tenant' });
    }
    if (!isHex32(e.hash)) return new ValidationError(`event ${e.id}: hash: expected 0x and 64 lowercase hex digits`, { field: 'hash' });
    if (ids.has(e.id)) return new ValidationError(`event ${e.id} appears twice in one append`, { field: 'id' });
    ids.add(e.id);
  }
  return undefined;
}

/** Catch-up subscription: everything after `after` in global order, then live appends. */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

/**
 * The append-only event log. Adapters: SQL (SQLite, MySQL/MariaDB) and KurrentDB.
 * Guarantees every adapter passes in test/eventstore/conformance.ts:
 * - appends to one stream are atomic and checked against `expectedRevision`
 *   (WrongExpectedRevisionError on mismatch);
 * - re-appending events whose ids are already stored in that stream, at the revision the first
 *   append expected, returns the original result and writes nothing (idempotent retries). The
 *   SQL store also does so at any revision and refuses an id stored in another stream
 *   (EventIdConflictError); KurrentDB checks ids per stream only, and with 'any' only against its
 *   cache of recent writes (docs/architecture.md): event ids are fresh UUIDv7s (createEvent);
 * - global positions increase in commit order, so a reader that has seen position p never
 *   later finds an event below p.
 */
export interface EventStore {
  readonly name: string;
  /**
   * True when positions run 0, 1, 2, … without holes (the SQL store), so the difference of two
   * positions is a count of events. KurrentDB's are log offsets: increasing, with gaps.
   */
  readonly gapFreePositions?: boolean;
  append(stream: string, events: PendingEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** Events of one stream; [] when the stream does not exist. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** The global log in position order (system events excluded). */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeAll(options?: SubscribeOptions): Subscription;
  /** Position of the last event in the log, or -1 when it is empty. */
  headPosition(): Promise<number>;
  /** Can the store be reached now? For /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
