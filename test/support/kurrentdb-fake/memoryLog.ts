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

export class MemoryLog {
  readonly all: StoredRecord[] = [];
  private readonly streams = new Map<string, StoredRecord[]>();
  private readonly listeners = new Set<(r: StoredRecord) => void>();
  private nextPosition = 1024n;

  stream(name: string): StoredRecord[] | undefined {
    return this.streams.get(name);
  }

  /** Called synchronously for each record as it is written, after it is readable. */
  onAppend(listener: (r: StoredRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Append atomically. Like the real server, a retry whose ids are already the stream's events at
   * the expected place succeeds without writing and reports the original revision and position.
   */
  append(stream: string, expected: Expected, events: Proposed[]): AppendOutcome {
    const existing = this.streams.get(stream) ?? [];
    const current = existing.length === 0 ? null : existing.length - 1;
    const replay = this.idempotentReplay(existing, expected, events);
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
    }
    this.streams.set(stream, existing);
    for (const r of existing.slice(existing.length - events.length)) for (const l of this.listeners) l(r);
    return { ok: true, currentRevision: last.revision, commit: last.commit, prepare: last.prepare };
  }

  private idempotentReplay(existing: StoredRecord[], expected: Expected, events: Proposed[]): AppendOutcome | null {
    if (events.length === 0 || existing.length === 0) return null;
    let start: number;
    if (expected.kind === 'no_stream') start = 0;
    else if (expected.kind === 'exact') start = expected.revision + 1;
    else start = existing.findIndex((r) => r.id === events[0].id);
    if (start < 0 || start + events.length > existing.length) return null;
    const slice = existing.slice(start, start + events.length);
    if (!slice.every((r, i) => r.id === events[i].id)) return null;
    const last = slice[slice.length - 1];
    return { ok: true, currentRevision: last.revision, commit: last.commit, prepare: last.prepare };
  }
}

/** $all order: by commit, then prepare. */
export function comparePosition(a: { commit: bigint; prepare: bigint }, b: { commit: bigint; prepare: bigint }): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}
