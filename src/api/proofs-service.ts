import { NotFoundError } from '../core/errors';
import type { ReadModels } from '../readmodels/port';
import { buildProofForEvent, getBatch, getBatchEvents, listBatches, type ProofQueryDependencies } from '../proofs/batches';
import { decodeCursor, encodeCursor } from './cursor';
import type { ProofsService } from './services';

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/**
 * The REST face of the proofs context (src/proofs/batches.ts). Events are looked up through the
 * read models with the caller's tenant scope, so a proof of another tenant's event is a 404.
 * Batches are listed newest first; the cursor carries the id to continue below.
 * @example buildApp({ ...deps, proofs: proofsService(pipeline.queries, readModels) })
 */
export function proofsService(queries: ProofQueryDependencies, readModels: ReadModels): ProofsService {
  return {
    async getProof(tenant, eventId) {
      const event = await readModels.getAuditEvent(tenant, eventId);
      if (!event) throw new NotFoundError('event', eventId);
      const { seq: _seq, batchId: _batchId, ...envelope } = event;
      return buildProofForEvent(queries, envelope);
    },
    async listBatches({ limit, cursor }) {
      const before = cursor === undefined ? undefined : Number(decodeCursor('batches', cursor, (v) => Number.isSafeInteger(v) && (v as number) > 0));
      const items = await listBatches(queries, { before, limit });
      const last = items[items.length - 1];
      return { items, ...(last && items.length === limit && last.id > 0 ? { nextCursor: encodeCursor('batches', last.id) } : {}) };
    },
    getBatch: (id) => orUndefined(getBatch(queries, id)),
    getBatchEvents: (id) => orUndefined(getBatchEvents(queries, id)),
  };
}
