import { OpenMcpError } from '../core/errors';

/**
 * A batch of only these is not sealed on time (createSealer): the wait is for another event, not for
 * the clock. Clients (the CLI's hint) recognize the case by this text in the problem's detail.
 */
export const WAITS_FOR_ANOTHER_EVENT = ', and a batch of only BatchSealed and BatchAnchored events is sealed once another event joins it (or it reaches BATCH_MAX_EVENTS)';

/**
 * The event's batch is not sealed or not anchored yet; retry later. `bookkeeping` (the unsealed
 * batch holds only BatchSealed, BatchAnchored… events so far) says why it waits longer than
 * Retry-After, which is then the longest it waits to be sealed once another event joins it.
 */
export class ProofPendingError extends OpenMcpError {
  constructor(
    readonly eventId: string,
    readonly stage: 'unsealed' | 'unanchored',
    readonly retryAfterSeconds: number,
    bookkeeping = false,
  ) {
    const why = stage === 'unanchored' ? 'not anchored yet' : `not sealed yet${bookkeeping ? WAITS_FOR_ANOTHER_EVENT : ''}`;
    super('PROOF_PENDING', `event ${eventId}: its batch is ${why}`, {
      status: 409,
      details: { eventId, stage, retryAfterSeconds },
    });
  }
}

/** The chain holds a different root (or range) for a batch than our log: never anchor over it. */
export class AnchorMismatchError extends OpenMcpError {
  constructor(batchId: number, message: string, roots: { expectedRoot?: string; chainRoot?: string } = {}) {
    super('ANCHOR_MISMATCH', `batch ${batchId}: ${message}`, { status: 500, details: { batchId, ...roots } });
  }
}

/**
 * The chain has fewer batches than this deployment's anchor stream recorded (a reorg deeper than
 * CHAIN_CONFIRMATIONS, or a node that lost its state). Reported, not thrown: the anchorer sends
 * the missing batches again with the same roots.
 */
export class AnchorsLostError extends OpenMcpError {
  constructor(chainNext: number, recordedNext: number) {
    super(
      'ANCHORS_LOST',
      `the chain holds batches 0..${chainNext - 1} but batches up to ${recordedNext - 1} were recorded as anchored on it: anchoring ${chainNext}..${recordedNext - 1} again`,
      { status: 500, details: { chainNextBatchId: chainNext, recordedNextBatchId: recordedNext } },
    );
  }
}

/** The events handed in do not form the batch (count, positions or root disagree). */
export class BatchIntegrityError extends OpenMcpError {
  constructor(batchId: number, message: string) {
    super('BATCH_INTEGRITY', `batch ${batchId}: ${message}`, { status: 500, details: { batchId } });
  }
}

/**
 * ANCHOR_CONTRACT names an address without code on the chain (a wrong address, or a chain reset
 * without redeploying), or one whose code is not AuditAnchor (an address from another chain).
 */
export class AnchorContractMissingError extends OpenMcpError {
  constructor(contract: string, chainId: number, reason: 'no-code' | 'not-audit-anchor' = 'no-code', cause?: unknown) {
    const what = reason === 'no-code' ? `no contract at ${contract} on chain ${chainId}` : `the contract at ${contract} on chain ${chainId} is not an AuditAnchor (it does not answer nextBatchId())`;
    super('ANCHOR_CONTRACT_MISSING', `${what}: check ANCHOR_CONTRACT, or deploy with \`openmcp contracts deploy\``, {
      status: 503,
      cause,
      details: { contract, chainId, reason },
    });
  }
}

/**
 * An anchor transaction waits: not mined, or not CHAIN_CONFIRMATIONS deep, within txTimeoutMs
 * (sent again with higher fees, held at the fee cap, behind another pending transaction of the
 * account, short of confirmations), or a transaction of an earlier run is still pending. Reported
 * each round while it lasts (a state of the chain's fee market or of the account), never a fault
 * of the code: its own code, so that it is not counted as INTERNAL, whose alert is critical.
 */
export class AnchorDelayedError extends OpenMcpError {
  constructor(batchId: number | undefined, message: string) {
    super('ANCHOR_DELAYED', message, { status: 503, details: batchId === undefined ? {} : { batchId } });
  }
}

/** The anchorer's account cannot pay for an anchor transaction (the node refused it: insufficient funds). */
export class AnchorerNoFundsError extends OpenMcpError {
  constructor(account: string, chainId: number, balance: bigint, batchId: number, cause?: unknown) {
    super('ANCHORER_NO_FUNDS', `the anchorer account ${account} cannot pay for anchor(${batchId}) on chain ${chainId}: its balance is ${balance} wei; fund it`, {
      status: 503,
      cause,
      details: { account, chainId, balance: balance.toString() },
    });
  }
}

/** `openmcp contracts deploy`: the node refused the deployment because the deployer account cannot pay its gas (nothing was sent). */
export class AnchorDeployNoFundsError extends OpenMcpError {
  constructor(account: string, chainId: number, balance: bigint, cause?: unknown) {
    super(
      'ANCHOR_DEPLOY_NO_FUNDS',
      `the deployer account ${account} cannot pay for deploying AuditAnchor on chain ${chainId}: its balance is ${balance} wei (a deployment takes about 1.36 M gas); fund it, or deploy with a funded key (--private-key). Nothing was sent`,
      { status: 503, cause, details: { account, chainId, balance: balance.toString() } },
    );
  }
}

export type AnchorAdminRefusal = 'single-step-admin' | 'not-admin' | 'not-pending-admin' | 'too-early' | 'nothing-pending' | 'no-funds';

/**
 * `openmcp contracts admin begin|accept|cancel` would send a transaction the AuditAnchor reverts
 * (checked with a call first, so nothing was sent), the contract predates the two-step admin, or
 * the node refused the transaction because the account cannot pay its gas.
 */
export class AnchorAdminRefusedError extends OpenMcpError {
  constructor(contract: string, reason: AnchorAdminRefusal, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ANCHOR_ADMIN_REFUSED', `${message}; nothing was sent`, { status: 409, cause, details: { contract, reason, ...details } });
  }
}
