import { z } from 'zod';
import { Cursor, Hex32, Limit, Timestamp } from './common';
import { AuditEventView } from './events';

export const BatchIdParams = z.strictObject({
  id: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,14})$/, 'a batch id is a non-negative integer')
    .transform(Number),
});

export const BatchAnchor = z.looseObject({
  chainId: z.number().int(),
  contract: z.string(),
  txHash: z.string(),
  blockNumber: z.number().int(),
  gasUsed: z.number().int().describe('Gas the anchor transaction used'),
  anchoredAt: Timestamp.describe('When BatchAnchored was recorded (after CHAIN_CONFIRMATIONS)'),
});

/** A batch head as src/proofs/batches.ts views it: every field is sent, `anchor` null until anchored. */
export const BatchView = z.looseObject({
  id: z.number().int(),
  firstSeq: z.number().int(),
  lastSeq: z.number().int(),
  size: z.number().int().describe('Events in the batch: lastSeq - firstSeq + 1'),
  firstPosition: z.number().int().describe('Global position of its first event'),
  lastPosition: z.number().int().describe('Global position of its last event'),
  root: Hex32,
  prevRoot: Hex32,
  signer: z.string(),
  signature: z.string(),
  sealedAt: Timestamp,
  anchor: BatchAnchor.nullable(),
});
export type BatchViewOutput = z.infer<typeof BatchView>;

export const BatchListQuery = z.strictObject({
  limit: Limit,
  cursor: Cursor.optional(),
});

export const BatchPage = z.object({ items: z.array(BatchView), nextCursor: z.string().optional() });

export const BatchEvents = z.object({ batch: BatchView, events: z.array(AuditEventView) });
export type BatchEventsOutput = z.infer<typeof BatchEvents>;
