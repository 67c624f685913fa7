import { BACKWARDS, END, FORWARDS, KurrentDBClient, START, streamNameFilter, type AppendStreamState, type Filter, type Position, type ResolvedEvent } from '@kurrent/kurrentdb-client';
import type { PendingEvent, RecordedEvent } from '../../core/envelope';
import { ConfigError, redactUrl } from '../../core/errors';
import { appendInputError, assertStreamPrefix, EventIdConflictError, type AppendOptions, type AppendResult, type EventStore, type ReadAllOptions, type ReadStreamOptions, type SubscribeOptions, type Subscription } from '../port';
import { fromResolved, toEventData } from './codec';
import { KurrentDbError, toStoreError } from './errors';
import { positionAfter } from './positions';
import { subscribeAll } from './subscribeAll';
import { exclusiveStart } from '../read-all-start';
import { maskDebugCredentials } from '../../core/mask-debug-credentials';

/** Records fetched per $all round trip when paging past system events. */
const PAGE = 256;
/** readAll's default `limit`, as the port says (the SQL store's too). */
const DEFAULT_READ_LIMIT = 1000;

function isStreamNotFound(err: unknown): boolean {
  return (err as { type?: string } | null)?.type === 'stream-not-found';
}

function after(a: Position, b: Position): boolean {
  return a.commit > b.commit || (a.commit === b.commit && a.prepare > b.prepare);
}

/**
 * EventStore over KurrentDB / EventStoreDB (gRPC, `@kurrent/kurrentdb-client`).
 * Positions are commit positions in the server's transaction log: increasing in $all order, with
 * gaps (they are byte offsets). System streams and `$`-typed events never reach callers.
 */
export class KurrentEventStore implements EventStore {
  readonly name = 'kurrentdb';

  constructor(private readonly client: KurrentDBClient) {}

  /**
   * Appends, then reads the stored events back to report their revisions and positions. A retry
   * with ids the server already holds at that place is a no-op on the server (it deduplicates by
   * event id), and the read-back returns the original result.
   */
  async append(stream: string, events: PendingEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    // The server would take any of these; the envelope's stream must be the one it is stored in.
    const invalid = appendInputError(stream, events);
    if (invalid) throw invalid;
    const expected = options.expectedRevision ?? 'any';
    const streamState: AppendStreamState = typeof expected === 'number' ? BigInt(expected) : expected;
    let next: bigint;
    try {
      const res = await this.client.appendToStream(stream, events.map(toEventData), { streamState });
      next = res.nextExpectedRevision;
    } catch (err) {
      throw toStoreError(err, { op: 'append', stream, expected });
    }
    const stored = (
      await this.readStream(stream, { direction: 'backwards', fromRevision: Number(next), maxCount: events.length })
    ).reverse();
    if (stored.length !== events.length || stored.some((e, i) => e.id !== events[i].id)) {
      throw new KurrentDbError(`stream ${stream}: the server reported success but holds other events at revisions ending ${next}`, {
        details: { stream, revision: Number(next) },
      });
    }
    // The server deduplicates a retry by event id alone: a "retry" with other content wrote
    // nothing and must not pass for a success (the SQL store compares hashes too).
    const changed = stored.findIndex((e, i) => e.hash !== events[i].hash);
    if (changed >= 0) throw new EventIdConflictError(stored[changed].id, 'with different content');
    return { nextExpectedRevision: Number(next), position: stored[stored.length - 1].position, events: stored };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const out: RecordedEvent[] = [];
    try {
      const reading = this.client.readStream(stream, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.fromRevision !== undefined ? BigInt(options.fromRevision) : backwards ? END : START,
        maxCount: options.maxCount ?? Number.MAX_SAFE_INTEGER,
      });
      for await (const resolved of reading) {
        const e = fromResolved(resolved);
        if (!e) {
          // Old servers leave stream reads without a log position; a foreign record is also refused.
          const why = resolved.event && !resolved.event.position ? 'a record without a log position' : 'a record that is not an OpenMCP event';
          throw new KurrentDbError(`stream ${stream} returned ${why}`, { details: { stream } });
        }
        out.push(e);
      }
    } catch (err) {
      if (isStreamNotFound(err)) return [];
      throw toStoreError(err, { op: 'readStream', stream });
    }
    return out;
  }

  /**
   * Reads $all forwards after `after` (exclusive). The server's start position is inclusive and
   * system records count against maxCount, so this pages until `limit` events of ours are found.
   * With `streamPrefix` the server filters by stream name (and this checks it again).
   */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const limit = options.limit ?? DEFAULT_READ_LIMIT;
    const prefix = options.streamPrefix;
    assertStreamPrefix(prefix);
    const filter = prefix === undefined ? undefined : streamNameFilter({ prefixes: [prefix] });
    const out: RecordedEvent[] = [];
    const floor = exclusiveStart(options) ?? -1;
    // A read starts at a record: `from` is one (an event's position), `after` the last one seen.
    let from: Position | typeof START = options.from !== undefined ? positionAfter(options.from) : floor < 0 ? START : positionAfter(floor);
    let cursor: Position | null = null;
    for (let round = 0; ; round++) {
      // At first no more records than could be wanted (each is a message to receive and decode):
      // the ones missing, and the record at `from` (the start is inclusive). System or foreign
      // records among them mean another round, of a whole page: asked for the few still missing,
      // a run of them (the server's $stats through an idle night) would cost a round trip each.
      const { records, full } = await this.page(from, FORWARDS, round === 0 ? Math.min(PAGE, limit - out.length + 1) : PAGE, filter);
      for (const r of records) {
        const pos = r.event?.position;
        if (!pos || (cursor && !after(pos, cursor))) continue;
        cursor = pos;
        const e = fromResolved(r);
        if (e && e.position > floor && (prefix === undefined || e.stream.startsWith(prefix))) out.push(e);
        if (out.length >= limit) return out;
      }
      if (!full || !cursor) return out;
      from = cursor;
    }
  }

  subscribeAll(options?: SubscribeOptions): Subscription {
    return subscribeAll(this.client, options);
  }

  async headPosition(): Promise<number> {
    let from: Position | typeof END = END;
    for (;;) {
      const { records, full } = await this.page(from, BACKWARDS);
      for (const r of records) {
        const e = fromResolved(r);
        if (e) return e.position;
      }
      const oldest = records[records.length - 1]?.event?.position;
      if (!full || !oldest) return -1;
      from = oldest;
    }
  }

  async ping(): Promise<void> {
    await this.page(END, BACKWARDS, 1);
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  private async page(from: Position | typeof START | typeof END, direction: typeof FORWARDS | typeof BACKWARDS, maxCount = PAGE, filter?: Filter) {
    const records: ResolvedEvent[] = [];
    try {
      for await (const r of this.client.readAll({ fromPosition: from, direction, maxCount, ...(filter ? { filter } : {}) })) records.push(r);
    } catch (err) {
      throw toStoreError(err, { op: 'readAll' });
    }
    return { records, full: records.length >= maxCount };
  }
}

/**
 * Connect to KurrentDB / EventStoreDB. Lazy: the first call opens the connection, so use
 * `ping()` to check readiness.
 * @example const store = await openKurrentEventStore('kurrentdb://localhost:2113?tls=false');
 */
export async function openKurrentEventStore(url: string): Promise<EventStore> {
  try {
    // Made from the string whole: its credentials are the client's defaults, so it appends through
    // its shared BatchAppend stream (a credentials provider would make each append a unary Append).
    // Its debug output (DEBUG=kdb*) prints this string: written with the password masked.
    maskDebugCredentials();
    return new KurrentEventStore(KurrentDBClient.connectionString(url));
  } catch (err) {
    throw new ConfigError(`KURRENTDB_URL is not a valid connection string (${redactUrl(url)}): ${(err as Error).message}`, {
      variable: 'KURRENTDB_URL',
    });
  }
}
