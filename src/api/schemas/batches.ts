import { z } from 'zod';
import { Cursor, Hex32 } from './common';
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
});

export const BatchView = z.looseObject({
  id: z.number().int(),
  firstSeq: z.number().int(),
  lastSeq: z.number().int(),
  root: Hex32,
  prevRoot: Hex32,
  signer: z.string().optional(),
  signature: z.string().optional(),
  sealedAt: z.string().optional(),
  // null until anchored (src/proofs), absent from older read models.
  anchor: BatchAnchor.nullish(),
});
export type BatchViewOutput = z.infer<typeof BatchView>;

export const BatchListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: Cursor.optional(),
});

export const BatchPage = z.object({ items: z.array(BatchView), nextCursor: z.string().optional() });

export const BatchEvents = z.object({ batch: BatchView, events: z.array(AuditEventView) });
export type BatchEventsOutput = z.infer<typeof BatchEvents>;
