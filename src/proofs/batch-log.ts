import type { RecordedEvent } from '../core/envelope';
import type { EventStore } from '../eventstore/port';
import type { BatchAnchoredData, BatchReanchoredData, BatchSealedData } from '../../events/proofs.events';
import { ANCHOR_STREAM_PREFIX, BATCH_STREAM, reanchorStreamName } from '../../events/audit-streams';

export type SealedBatch = BatchSealedData & { sealedAt: string; eventId: string };
export type AnchorRecord = BatchAnchoredData & { anchoredAt: string; eventId: string };
export type ReanchorRecord = BatchReanchoredData & { anchoredAt: string; eventId: string };

/**
 * Cached, append-only view of the batch stream (and of one anchor stream). Both streams only
 * grow and revision = batch id, so the cache is refreshed by reading past the last revision.
 * One instance is shared by concurrent callers (API requests, the anchorer in the same process).
 */
export class BatchLog {
  private readonly sealed: SealedBatch[] = [];
  private readonly anchors = new Map<string, AnchorRecord[]>();
  private readonly reanchors = new Map<string, ReanchorRecord[]>();
  /** The last refresh of each stream: refreshes of one stream run one after another. */
  private readonly refreshes = new Map<string, Promise<void>>();

  constructor(private readonly store: EventStore) {}

  /** All sealed batches, in id order (index = batch id). */
  async sealedBatches(): Promise<readonly SealedBatch[]> {
    await this.refresh(BATCH_STREAM, this.sealed, (e) => ({ ...(e.data as BatchSealedData), sealedAt: e.occurredAt, eventId: e.id }));
    return this.sealed;
  }

  /**
   * Whether some deployment other than `anchorStream`'s holds an anchor (the log's first
   * BatchAnchored, read through the store's stream index): for an anchor stream still empty, that
   * its deployment is not the first.
   */
  async anchoredElsewhere(anchorStream: string): Promise<boolean> {
    const [first] = await this.store.readAll({ streamPrefix: ANCHOR_STREAM_PREFIX, limit: 1 });
    return first !== undefined && first.stream !== anchorStream;
  }

  /** Anchors recorded in `anchorStream`, in batch id order (index = batch id). */
  async anchorRecords(anchorStream: string): Promise<readonly AnchorRecord[]> {
    let list = this.anchors.get(anchorStream);
    if (!list) this.anchors.set(anchorStream, (list = []));
    await this.refresh(anchorStream, list, (e) => ({ ...(e.data as BatchAnchoredData), anchoredAt: e.occurredAt, eventId: e.id }));
    return list;
  }

  /** BatchReanchored of `anchorStream`'s deployment, in the order appended. */
  async reanchorRecords(anchorStream: string): Promise<readonly ReanchorRecord[]> {
    const stream = reanchorStreamName(anchorStream);
    let list = this.reanchors.get(stream);
    if (!list) this.reanchors.set(stream, (list = []));
    await this.refresh(stream, list, (e) => ({ ...(e.data as BatchReanchoredData), anchoredAt: e.occurredAt, eventId: e.id }));
    return list;
  }

  /**
   * The anchor each batch has now in `anchorStream`'s deployment (index = batch id): its
   * BatchAnchored, or the last BatchReanchored of it once the chain lost that one and it was sent
   * again. What proofs and GET /v1/batches name; anchorRecords() stays the record of what was
   * first recorded (its length is how many batches are recorded).
   */
  async currentAnchors(anchorStream: string): Promise<readonly AnchorRecord[]> {
    const [first, again] = await Promise.all([this.anchorRecords(anchorStream), this.reanchorRecords(anchorStream)]);
    if (again.length === 0) return first;
    const out = [...first];
    for (const r of again) {
      if (r.batchId >= out.length) continue;
      const { replacesTxHash: _tx, replacesBlockNumber: _block, ...anchor } = r;
      out[r.batchId] = anchor;
    }
    return out;
  }

  /**
   * Read `stream` on past the cache, after any refresh of it already running. Overlapping reads
   * from the same revision each found the other's events already cached and failed ("expected
   * revision n, read m"); waiting for the running one (not just sharing it) keeps read-your-writes:
   * a refresh asked for after an append starts after it.
   */
  private refresh<T>(stream: string, into: T[], map: (e: RecordedEvent) => T): Promise<void> {
    const previous = this.refreshes.get(stream) ?? Promise.resolve();
    // Its failure was its caller's to handle; this read starts afresh.
    const next = previous.catch(() => undefined).then(() => readOn(this.store, stream, into, map));
    this.refreshes.set(stream, next);
    return next;
  }

  /** The sealed batch holding the event at store `position`, or undefined if not sealed yet. */
  async batchAtPosition(position: number): Promise<SealedBatch | undefined> {
    const batches = await this.sealedBatches();
    let lo = 0;
    let hi = batches.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = batches[mid];
      if (position < b.firstPosition) hi = mid - 1;
      else if (position > b.lastPosition) lo = mid + 1;
      else return b;
    }
    return undefined;
  }
}

async function readOn<T>(store: EventStore, stream: string, into: T[], map: (e: RecordedEvent) => T): Promise<void> {
  for (;;) {
    const page = await store.readStream(stream, { fromRevision: into.length, maxCount: 1000 });
    for (const e of page) {
      // revision = batch id is the invariant the exactly-once append relies on; refuse anything else.
      if (e.revision !== into.length) throw new Error(`${stream}: expected revision ${into.length}, read ${e.revision}`);
      into.push(map(e));
    }
    if (page.length < 1000) return;
  }
}

/** The events of a sealed batch, in log order, read back from the store. */
export async function readBatchEvents(store: EventStore, b: Pick<SealedBatch, 'firstPosition' | 'lastPosition' | 'firstSeq' | 'lastSeq'>): Promise<RecordedEvent[]> {
  const size = b.lastSeq - b.firstSeq + 1;
  const out: RecordedEvent[] = [];
  let after: number | undefined;
  // From the batch's first event (inclusive): KurrentDB refuses a read from firstPosition - 1,
  // a position inside the record before it.
  while (out.length < size) {
    const limit = Math.min(1000, size - out.length);
    const page = await store.readAll(after === undefined ? { from: b.firstPosition, limit } : { after, limit });
    if (page.length === 0) break;
    for (const e of page) if (e.position >= b.firstPosition && e.position <= b.lastPosition) out.push(e);
    after = page[page.length - 1].position;
    if (after >= b.lastPosition) break;
  }
  return out;
}
