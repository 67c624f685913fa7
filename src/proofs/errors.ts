import { OpenMcpError } from '../core/errors';

/** The event's batch is not sealed or not anchored yet; retry later. */
export class ProofPendingError extends OpenMcpError {
  constructor(
    readonly eventId: string,
    readonly stage: 'unsealed' | 'unanchored',
    readonly retryAfterSeconds: number,
  ) {
    super('PROOF_PENDING', `event ${eventId}: its batch is ${stage === 'unsealed' ? 'not sealed' : 'not anchored'} yet`, {
      status: 409,
      details: { eventId, stage, retryAfterSeconds },
    });
  }
}

/** The chain holds a different root (or range) for a batch than our log: never anchor over it. */
export class AnchorMismatchError extends OpenMcpError {
  constructor(batchId: number, message: string) {
    super('ANCHOR_MISMATCH', `batch ${batchId}: ${message}`, { status: 500, details: { batchId } });
  }
}

/** The events handed in do not form the batch (count, positions or root disagree). */
export class BatchIntegrityError extends OpenMcpError {
  constructor(batchId: number, message: string) {
    super('BATCH_INTEGRITY', `batch ${batchId}: ${message}`, { status: 500, details: { batchId } });
  }
}
