import { assignBaseOffset, readBatchHeader } from './record-batch';

type StoredBatch = { baseOffset: number; lastOffset: number; maxTimestamp: number; bytes: Buffer };
type ProducerState = { epoch: number; lastSequence: number; recent: { firstSeq: number; lastSeq: number; baseOffset: number }[] };

export const ERR_OUT_OF_ORDER_SEQUENCE = 45;
export const ERR_INVALID_PRODUCER_EPOCH = 47;

/** What an append did: the offset of the batch's first record, or a Kafka error code. */
export type AppendOutcome = { error: 0; baseOffset: number; duplicate: boolean } | { error: number; baseOffset: -1 };

const INT32_MAX = 0x7fffffff;
const nextSeq = (seq: number, count: number) => (seq + count) % (INT32_MAX + 1);

/**
 * One partition's log in memory: whole batches as the producer sent them (compressed ones too),
 * with the base offset rewritten. Idempotent producers are deduplicated per producer id the way
 * Kafka does it: the last five batches are remembered so a retried batch gets its first offset back.
 */
export class PartitionLog {
  private readonly batches: StoredBatch[] = [];
  private readonly producers = new Map<bigint, ProducerState>();
  highWatermark = 0;

  append(batch: Buffer): AppendOutcome {
    const h = readBatchHeader(batch);
    let producer: ProducerState | undefined;
    if (h.producerId >= 0n) {
      const lastSeqInBatch = nextSeq(h.baseSequence, h.lastOffsetDelta);
      producer = this.producers.get(h.producerId);
      if (producer && h.producerEpoch < producer.epoch) return { error: ERR_INVALID_PRODUCER_EPOCH, baseOffset: -1 };
      if (producer && h.producerEpoch === producer.epoch) {
        const dup = producer.recent.find((b) => b.firstSeq === h.baseSequence && b.lastSeq === lastSeqInBatch);
        if (dup) return { error: 0, baseOffset: dup.baseOffset, duplicate: true };
        if (h.baseSequence !== nextSeq(producer.lastSequence, 1)) return { error: ERR_OUT_OF_ORDER_SEQUENCE, baseOffset: -1 };
      } else if (h.baseSequence !== 0) {
        return { error: ERR_OUT_OF_ORDER_SEQUENCE, baseOffset: -1 };
      }
      if (!producer || producer.epoch !== h.producerEpoch) {
        producer = { epoch: h.producerEpoch, lastSequence: -1, recent: [] };
        this.producers.set(h.producerId, producer);
      }
      producer.lastSequence = lastSeqInBatch;
      producer.recent.push({ firstSeq: h.baseSequence, lastSeq: lastSeqInBatch, baseOffset: this.highWatermark });
      if (producer.recent.length > 5) producer.recent.shift();
    }
    const baseOffset = this.highWatermark;
    assignBaseOffset(batch, baseOffset);
    this.batches.push({ baseOffset, lastOffset: baseOffset + h.lastOffsetDelta, maxTimestamp: h.maxTimestamp, bytes: batch });
    this.highWatermark = baseOffset + h.lastOffsetDelta + 1;
    return { error: 0, baseOffset, duplicate: false };
  }

  /** Whole batches holding `offset` and after, at least one, then up to `maxBytes`. */
  read(offset: number, maxBytes: number): Buffer {
    let i = this.findBatch(offset);
    const parts: Buffer[] = [];
    let size = 0;
    for (; i < this.batches.length; i++) {
      const b = this.batches[i].bytes;
      if (parts.length > 0 && size + b.length > maxBytes) break;
      parts.push(b);
      size += b.length;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
  }

  /** First offset whose batch has a timestamp at or after `ts`, else the high watermark. */
  offsetForTimestamp(ts: number): number {
    const b = this.batches.find((x) => x.maxTimestamp >= ts);
    return b ? b.baseOffset : this.highWatermark;
  }

  private findBatch(offset: number): number {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.batches[mid].lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
