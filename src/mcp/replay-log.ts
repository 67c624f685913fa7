import { randomBytes, randomUUID } from 'node:crypto';
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** How much of the SSE events sent on /mcp a replica keeps for clients that resume a dropped stream. */
export type ReplayWindow = {
  /** Bytes of JSON kept, all sessions together; beyond it the tenant holding most lets its oldest go. Default 32 MiB. */
  bytes?: number;
  /** Events older than this are not replayed. Default 5 min. */
  ms?: number;
};

/**
 * An event sent: `data` is its message's JSON as sent (undefined for a priming event: an id and no
 * data). Kept as text, not as the message object: what is replayed is what was sent, and the
 * bytes counted are those held (an object tree takes several times its JSON's size in memory).
 */
type Entry = { session: string; owner: string; stream: string; data?: string; bytes: number; at: number };

/** What one owner (a tenant) holds: its bytes and its event ids, oldest first (some maybe forgotten since). */
type Holding = { bytes: number; ids: string[] };

/** The events replayed after a Last-Event-ID: those of its stream that followed it, in order. */
export type Replay = { stream: string; events: [id: string, message: JSONRPCMessage][] };

/**
 * The SSE events this replica sent on the sessions' streams, for a client whose stream dropped to
 * take it up again with `Last-Event-ID` (streamable HTTP resumability). One log for the replica,
 * bounded by bytes and age whatever the number of sessions. Past its age an event goes; past its
 * bytes, the oldest event of the owner (the tenant) holding most goes: a tenant flooding the log
 * with sessions or huge results lets its own events go, not everyone's (with one owner, this is
 * oldest first). Event ids carry a random prefix of this log, so an id from another replica or an
 * earlier process is unknown here, never mistaken for one of ours.
 *
 * @example const log = new ReplayLog({ ms: 60_000 }); const store = log.storeFor(sessionId, tenant)
 */
export class ReplayLog {
  private readonly entries = new Map<string, Entry>();
  /** Each session's event ids, oldest first (a subsequence of `entries`' order). */
  private readonly bySession = new Map<string, string[]>();
  private readonly byOwner = new Map<string, Holding>();
  private readonly prefix = randomBytes(6).toString('hex');
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private bytes = 0;
  private newest = '';

  constructor(
    window: ReplayWindow = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxBytes = window.bytes ?? 32 * 1024 * 1024;
    this.maxAgeMs = window.ms ?? 5 * 60_000;
  }

  /** How long events are replayable (ms). */
  get windowMs(): number {
    return this.maxAgeMs;
  }

  /**
   * Record an event of `stream` in `session` and return its id (`message` undefined: a priming
   * event). `owner`: whose share of the log it counts to (the session's tenant).
   */
  append(session: string, stream: string, message?: JSONRPCMessage, owner = ''): string {
    // Random, not a count: a replica-wide counter showed a client how many events the replica sent
    // other sessions (other tenants) between two of its own. Order is kept by the maps, not the id.
    const id = `${this.prefix}-${randomUUID()}`;
    const data = message === undefined ? undefined : JSON.stringify(message);
    // UTF-8 bytes: a string's length counts '日' as 1 where it is 3 bytes on the wire.
    const bytes = data === undefined ? 0 : Buffer.byteLength(data);
    this.entries.set(id, { session, owner, stream, data, bytes, at: this.now() });
    const ids = this.bySession.get(session);
    if (ids) ids.push(id);
    else this.bySession.set(session, [id]);
    const held = this.byOwner.get(owner);
    if (held) {
      held.bytes += bytes;
      held.ids.push(id);
    } else this.byOwner.set(owner, { bytes, ids: [id] });
    this.bytes += bytes;
    this.newest = id;
    this.prune();
    return id;
  }

  /** The stream of event `id` of `session`, or undefined when it is unknown, expired or another session's. */
  streamOf(session: string, id: string): string | undefined {
    this.prune();
    const entry = this.entries.get(id);
    return entry?.session === session ? entry.stream : undefined;
  }

  /** The events of the stream of event `id` that followed it, or undefined when `id` is not known for `session`. */
  after(session: string, id: string): Replay | undefined {
    const stream = this.streamOf(session, id);
    if (stream === undefined) return undefined;
    const ids = this.bySession.get(session)!;
    const events: Replay['events'] = [];
    for (const later of ids.slice(ids.indexOf(id) + 1)) {
      const entry = this.entries.get(later)!;
      if (entry.stream === stream && entry.data !== undefined) events.push([later, JSON.parse(entry.data) as JSONRPCMessage]);
    }
    return { stream, events };
  }

  /** Drop the events of an ended session. */
  forget(session: string): void {
    // Their ids stay in their owner's list until they come to its head (skipped there): no search.
    const owners = new Set<string>();
    for (const id of this.bySession.get(session) ?? []) {
      const owner = this.entries.get(id)?.owner;
      if (owner !== undefined) owners.add(owner);
      this.drop(id);
    }
    this.bySession.delete(session);
    for (const owner of owners) {
      const held = this.byOwner.get(owner);
      if (held) this.trim(owner, held);
    }
  }

  /**
   * The SDK transport's event store for `session` of `owner` (its GET stream, and its POST streams
   * when it answers with SSE). `keeps(stream)`: whether to record an event of `stream`; one it
   * does not is given an id the log does not know (the SDK stores every event of the GET stream,
   * open or not: a session that has none here would fill the log with what no client can ask for).
   */
  storeFor(session: string, owner = '', keeps: (stream: string) => boolean = () => true): EventStore {
    return {
      storeEvent: async (stream, message) =>
        keeps(stream) ? this.append(session, stream, Object.keys(message).length ? message : undefined, owner) : `${this.prefix}-${randomUUID()}`,
      getStreamIdForEventId: async (id) => this.streamOf(session, id),
      replayEventsAfter: async (id, { send }) => {
        const replay = this.after(session, id);
        if (!replay) throw new Error('unknown event id');
        for (const [eventId, message] of replay.events) await send(eventId, message);
        return replay.stream;
      },
    };
  }

  private drop(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.bytes -= entry.bytes;
    const held = this.byOwner.get(entry.owner)!;
    held.bytes -= entry.bytes;
  }

  /** Let go event `id`, the oldest still kept of its session and of its owner. */
  private evict(id: string, entry: Entry): void {
    this.drop(id);
    const ids = this.bySession.get(entry.session)!;
    ids.shift();
    if (ids.length === 0) this.bySession.delete(entry.session);
    const held = this.byOwner.get(entry.owner)!;
    // Forgotten ids before it are skipped first: they are older (the list is in insertion order).
    const at = held.ids.indexOf(id);
    held.ids.splice(0, at + 1);
    this.trim(entry.owner, held);
  }

  /** Skip the forgotten ids at the head of `owner`'s list; an owner holding nothing is removed. */
  private trim(owner: string, held: Holding): void {
    while (held.ids.length > 0 && !this.entries.has(held.ids[0])) held.ids.shift();
    if (held.ids.length === 0) this.byOwner.delete(owner);
  }

  private prune(): void {
    // Past its age: the oldest first, by insertion order (the head of `entries`, of its session's
    // ids and of its owner's).
    const oldest = this.now() - this.maxAgeMs;
    for (const [id, entry] of this.entries) {
      if (entry.at >= oldest) break;
      this.evict(id, entry);
    }
    // Past the bytes: the oldest of the owner holding most. The newest event is kept whatever its
    // size, so that a stream's last answer can be replayed (the next event lets it go).
    while (this.bytes > this.maxBytes) {
      let most: [string, Holding] | undefined;
      for (const owned of this.byOwner) if (!most || owned[1].bytes > most[1].bytes) most = owned;
      const [owner, held] = most!;
      this.trim(owner, held);
      const id = held.ids[0];
      if (id === undefined || id === this.newest) break;
      this.evict(id, this.entries.get(id)!);
    }
  }
}
