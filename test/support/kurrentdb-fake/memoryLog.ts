/**
 * The fake server's storage: one global log ($all) and per-stream indexes, with the real
 * server's optimistic-concurrency and idempotency rules. Pure data, no gRPC.
 */

/** One record as the server stores it. Positions are log offsets: increasing, with gaps. */
export type StoredRecord = {
  id: string;
  stream: string;
  revision: number;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
  /** .NET ticks (100 ns since the Unix epoch), as the server puts in the "created" metadata. */
  created: bigint;
  commit: bigint;
  prepare: bigint;
};

export type Expected = { kind: 'any' } | { kind: 'no_stream' } | { kind: 'stream_exists' } | { kind: 'exact'; revision: number };

export type Proposed = { id: string; type: string; contentType: string; data: Uint8Array; customMetadata: Uint8Array };

export type AppendOutcome =
  | { ok: true; currentRevision: number; commit: bigint; prepare: bigint }
  | { ok: false; currentRevision: number | null };

/** Bytes between consecutive records, so positions look like offsets in a file and are not 0,1,2,… */
const STRIDE = 137n;

/**
 * How many recently written ids the server remembers for its 'any' idempotency check. The real
 * server bounds this cache by memory (and starts it empty); any bound shows the same thing: an
 * old enough retry with 'any' is written again.
 */
const RECENT_IDS = 100_000;

export class MemoryLog {
  readonly all: StoredRecord[] = [];
  private readonly streams = new Map<string, StoredRecord[]>();
  private readonly listeners = new Set<(r: StoredRecord) => void>();
  /** The server's in-memory map of recently committed ids (`_committedEvents`): id → where it was last written. */
  private readonly recent = new Map<string, { stream: string; revision: number }>();
  private nextPosition = 1024n;

  constructor(private readonly recentIds = RECENT_IDS) {}

  stream(name: string): StoredRecord[] | undefined {
    return this.streams.get(name);
  }

  /** Called synchronously for each record as it is written, after it is readable. */
  onAppend(listener: (r: StoredRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** What a server restart loses: the cache of recent ids (the log itself is kept). */
  forgetRecentIds(): void {
    this.recent.clear();
  }

  /**
   * Append atomically, with the real server's rules (IndexWriter.CheckCommit):
   * - 'any' / 'stream_exists': a retry is recognised only through the cache of recent ids, each
   *   last written to this stream; the first id unknown there is a new write (so an id in another
   *   stream, or one forgotten, is written again); a later one unknown is a WrongExpectedVersion;
   * - an exact revision or 'no_stream' below the stream's current revision: a retry when the
   *   stream holds these ids right after the expected revision (read from the stream itself, so
   *   it never forgets), otherwise a WrongExpectedVersion; at the current revision the events
   *   are written without looking at their ids.
   * A retry writes nothing and reports the original revision and position.
   */
  append(stream: string, expected: Expected, events: Proposed[]): AppendOutcome {
    const existing = this.streams.get(stream) ?? [];
    const current = existing.length === 0 ? null : existing.length - 1;
    const replay = this.idempotentReplay(stream, existing, expected, events);
    if (replay) return replay;
    const matches =
      expected.kind === 'any' ||
      (expected.kind === 'no_stream' && current === null) ||
      (expected.kind === 'stream_exists' && current !== null) ||
      (expected.kind === 'exact' && current === expected.revision);
    if (!matches) return { ok: false, currentRevision: current };
    if (events.length === 0) return { ok: true, currentRevision: current ?? -1, commit: this.nextPosition, prepare: this.nextPosition };
    const created = BigInt(Date.now()) * 10_000n;
    let last!: StoredRecord;
    for (const e of events) {
      const position = this.nextPosition;
      this.nextPosition += STRIDE;
      last = { ...e, stream, revision: existing.length, created, commit: position, prepare: position };
      existing.push(last);
      this.all.push(last);
      this.remember(last);
    }
    this.streams.set(stream, existing);
    for (const r of existing.slice(existing.length - events.length)) for (const l of this.listeners) l(r);
    return { ok: true, currentRevision: last.revision, commit: last.commit, prepare: last.prepare };
  }

  private remember(r: StoredRecord): void {
    this.recent.delete(r.id);
    this.recent.set(r.id, { stream: r.stream, revision: r.revision });
    if (this.recent.size > this.recentIds) this.recent.delete(this.recent.keys().next().value!);
  }

  /** The outcome when the append is decided by its ids, or null when the usual revision check decides. */
  private idempotentReplay(stream: string, existing: StoredRecord[], expected: Expected, events: Proposed[]): AppendOutcome | null {
    if (events.length === 0 || existing.length === 0) return null;
    const current = existing.length - 1;
    const replayed = (revision: number): AppendOutcome => {
      const r = existing[revision];
      return { ok: true, currentRevision: r.revision, commit: r.commit, prepare: r.prepare };
    };
    if (expected.kind === 'any' || expected.kind === 'stream_exists') {
      let last = -1;
      for (let i = 0; i < events.length; i++) {
        const known = this.recent.get(events[i].id);
        // The server's CorruptedIdempotency, which it reports as WrongExpectedVersion.
        if (!known || known.stream !== stream) return i === 0 ? null : { ok: false, currentRevision: current };
        last = known.revision;
      }
      return replayed(last);
    }
    const from = expected.kind === 'no_stream' ? -1 : expected.revision;
    if (from >= current) return null;
    for (let i = 0; i < events.length; i++) {
      if (existing[from + 1 + i]?.id !== events[i].id) return i === 0 ? null : { ok: false, currentRevision: current };
    }
    return replayed(from + events.length);
  }
}

/** $all order: by commit, then prepare. */
export function comparePosition(a: { commit: bigint; prepare: bigint }, b: { commit: bigint; prepare: bigint }): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}
