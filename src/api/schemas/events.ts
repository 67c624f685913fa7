import { z } from 'zod';
import { ActorView, Cursor, Hex32, page, QueryInt, Timestamp } from './common';

export const AuditEventView = z.object({
  id: z.string(),
  type: z.string(),
  version: z.number().int(),
  stream: z.string(),
  revision: z.number().int(),
  position: z.number().int(),
  occurredAt: Timestamp,
  tenant: z.string(),
  actor: ActorView,
  correlationId: z.string().optional(),
  causationId: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
  hash: Hex32,
  seq: z.number().int().optional().describe("Audit sequence number (gap-free, the leaf's seq in its proof: docs/proofs.md §2): on the SQL event store the event's global position, sent sealed or not; absent on KurrentDB"),
  batchId: z.number().int().optional().describe('The sealed batch holding the event (GET /v1/batches/{id}, its export, its proof); absent until it is sealed, and on KurrentDB'),
});
export type AuditEventViewOutput = z.infer<typeof AuditEventView>;

/** An exclusive global position: the list starts after it. */
const After = QueryInt(-1, Number.MAX_SAFE_INTEGER)
  .optional()
  .describe('Exclusive: the events after this global position (-1 or absent: from the first); poll with the position of the last event seen. Not with cursor');

/** The cursor holds the position to go on from: with `after` too, one of them would be ignored. */
const afterOrCursor = (q: { after?: number; cursor?: string }) => q.after === undefined || q.cursor === undefined;
const AFTER_OR_CURSOR = { message: 'after or cursor, not both (the cursor holds the position)', path: ['after'] };

export const EventsQuery = z.strictObject({
  stream: z.string().regex(/^[a-z][a-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]{0,190}$/, '<aggregate>-<id>').optional(),
  type: z.string().regex(/^[A-Z][A-Za-z0-9]{1,99}$/, 'a PascalCase event type').optional(),
  after: After,
  limit: QueryInt(1, 1000).prefault(100),
  cursor: Cursor.optional(),
}).refine(afterOrCursor, AFTER_OR_CURSOR);
export type EventsQueryInput = z.input<typeof EventsQuery>;

export const EventPage = page(AuditEventView);

/** The query of a list of events in position order (`after`, `limit`, `cursor`), with a list's own fields. */
export const positionPageQuery = <T extends z.ZodRawShape>(own: T) =>
  z.strictObject({
    after: After,
    limit: QueryInt(1, 1000).prefault(100),
    cursor: Cursor.optional(),
    ...own,
  }).refine((q) => afterOrCursor(q as { after?: number; cursor?: string }), AFTER_OR_CURSOR);

export const TaskEventsQuery = positionPageQuery({});

/** The proof file (DESIGN.md "openmcp-proof/1", src/proofs/proof-file.ts); loose, so a field a later format adds still parses. */
export const ProofFile = z.looseObject({
  format: z.literal('openmcp-proof/1'),
  event: z.record(z.string(), z.unknown()).describe('The full envelope, hash included'),
  seq: z.number().int(),
  batch: z.looseObject({
    id: z.number().int(),
    firstSeq: z.number().int(),
    lastSeq: z.number().int(),
    root: z.string(),
    prevRoot: z.string(),
    signer: z.string().describe("The sealer's Ethereum address"),
    signature: z.string().describe('65 bytes r ‖ s ‖ v over SHA-256 of the batch head\'s JCS'),
  }),
  index: z.number().int(),
  treeSize: z.number().int(),
  path: z.array(z.string()),
  anchor: z.looseObject({ chainId: z.number().int(), contract: z.string(), txHash: z.string(), blockNumber: z.number().int() }),
});
export type ProofFileOutput = z.infer<typeof ProofFile>;
