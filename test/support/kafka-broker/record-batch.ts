import { crc32c } from './crc32c';

/** Record batch v2 header (61 bytes), the fields the broker needs. Records themselves stay opaque. */
export type BatchHeader = {
  length: number;
  magic: number;
  crc: number;
  lastOffsetDelta: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
};

export const BATCH_HEADER_SIZE = 61;
const CRC_START = 21;

/** Split a produce payload into its batches (one per batch, copied so the broker can own them). */
export function splitBatches(records: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 12 <= records.length) {
    const size = 12 + records.readInt32BE(at + 8);
    if (at + size > records.length) throw new RangeError('truncated record batch');
    out.push(Buffer.from(records.subarray(at, at + size)));
    at += size;
  }
  return out;
}

export function readBatchHeader(batch: Buffer): BatchHeader {
  if (batch.length < BATCH_HEADER_SIZE) throw new RangeError('record batch shorter than its header');
  return {
    length: batch.length,
    magic: batch.readInt8(16),
    crc: batch.readUInt32BE(17),
    lastOffsetDelta: batch.readInt32BE(23),
    maxTimestamp: Number(batch.readBigInt64BE(35)),
    producerId: batch.readBigInt64BE(43),
    producerEpoch: batch.readInt16BE(51),
    baseSequence: batch.readInt32BE(53),
    recordCount: batch.readInt32BE(57),
  };
}

/** The CRC covers attributes to the end, so base offset and leader epoch can change in place. */
export function batchCrcValid(batch: Buffer): boolean {
  return crc32c(batch.subarray(CRC_START)) === batch.readUInt32BE(17);
}

export function assignBaseOffset(batch: Buffer, baseOffset: number): void {
  batch.writeBigInt64BE(BigInt(baseOffset), 0);
  batch.writeInt32BE(0, 12);
}
