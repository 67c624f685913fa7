import { randomBytes } from 'node:crypto';
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** How much of the SSE events sent on /mcp a replica keeps for clients that resume a dropped stream. */
export type ReplayWindow = {
  /** Bytes of JSON kept, all sessions together; the oldest go first. Default 32 MiB. */
  bytes?: number;
  /** Events older than this are not replayed. Default 5 min. */
  ms?: number;
};

/**
 * An event sent: `data` is its message's JSON as sent (undefined for a priming event: an id and no
 * data). Kept as text, not as the message object: what is replayed is what was sent, and the
 * bytes counted are those held (an object tree takes several times its JSON's size in memory).
 */
type Entry = { session: string; stream: string; data?: string; bytes: number; at: number };

/** The events replayed after a Last-Event-ID: those of its stream that followed it, in order. */
export type Replay = { stream: string; events: [id: string, message: JSONRPCMessage][] };

/**
 * The SSE events this replica sent on the sessions' streams, for a client whose stream dropped to
 * take it up again with `Last-Event-ID` (streamable HTTP resumability). One log for the replica,
 * bounded by bytes and age whatever the number of sessions: the oldest events go first. Event
 * ids carry a random prefix of this log, so an id from another replica or an earlier process is
 * unknown here, never mistaken for one of ours.
 *
 * @example const log = new ReplayLog({ ms: 60_000 }); const store = log.storeFor(sessionId)
 */
export class ReplayLog {
  private readonly entries = new Map<string, Entry>();
  /** Each session's event ids, oldest first (a subsequence of `entries`' order). */
  private readonly bySession = new Map<string, string[]>();
  private readonly prefix = randomBytes(6).toString('hex');
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private seq = 0;
  private bytes = 0;

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

  /** Record an event of `stream` in `session` and return its id (`message` undefined: a priming event). */
  append(session: string, stream: string, message?: JSONRPCMessage): string {
    const id = `${this.prefix}-${++this.seq}`;
    const data = message === undefined ? undefined : JSON.stringify(message);
    // UTF-8 bytes: a string's length counts '日' as 1 where it is 3 bytes on the wire.
    const bytes = data === undefined ? 0 : Buffer.byteLength(data);
    this.entries.set(id, { session, stream, data, bytes, at: this.now() });
    const ids = this.bySession.get(session);
    if (ids) ids.push(id);
    else this.bySession.set(session, [id]);
    this.bytes += bytes;
    this.prune();
    return id;
  }

  /** The stream of event `id` of `session`, or undefined when it is unknown, expired or another session's. */
  streamOf(session: string, id: string): string | undefined {
    this.prune();
    const entry = this.entries.get(id);
    return entry?.session === session ? entry.stream : undefined;
  }

  /** Whether events of `stream` of `session` are still kept. */
  holds(session: string, stream: string): boolean {
    this.prune();
    return (this.bySession.get(session) ?? []).some((id) => this.entries.get(id)!.stream === stream);
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
    for (const id of this.bySession.get(session) ?? []) this.drop(id);
    this.bySession.delete(session);
  }

  /** The SDK transport's event store for `session` (its GET stream, and its POST streams when it answers with SSE). */
  storeFor(session: string): EventStore {
    return {
      storeEvent: async (stream, message) => this.append(session, stream, Object.keys(message).length ? message : undefined),
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
  }

  // The oldest first, by insertion order: always the head of `entries` and of its session's ids.
  // The newest event is kept whatever its size, so that a stream's last answer can be replayed.
  private prune(): void {
    const oldest = this.now() - this.maxAgeMs;
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= 1 && entry.at >= oldest) break;
      if (this.bytes <= this.maxBytes && entry.at >= oldest) break;
      this.drop(id);
      const ids = this.bySession.get(entry.session)!;
      ids.shift();
      if (ids.length === 0) this.bySession.delete(entry.session);
    }
  }
}
