import type { RecordedEvent } from '../core/envelope';
import { NotFoundError } from '../core/errors';
import { toHex, type Hex } from '../core/hex';
import type { EventStore } from '../eventstore/port';
import { BOOKKEEPING_TYPES } from '../../events/audit-streams';
import { BatchLog, readBatchEvents, type AnchorRecord, type SealedBatch } from './batch-log';
import { BatchIntegrityError, ProofPendingError } from './errors';
import { batchLeaves } from './seal-batch';
import { buildTree, type BatchTree } from './merkle';
import { PROOF_FORMAT, type ProofFile } from './proof-file';

export type ProofQueryDependencies = {
  store: EventStore;
  /** Shared cached view of the batch and anchor streams. */
  batchLog: BatchLog;
  /** The current deployment's anchor stream (Anchorer.anchorStream()); undefined = no chain yet. */
  anchorStream: () => Promise<string | undefined>;
  /** Look an event up by id (the API's event query); undefined when absent. */
  findEvent: (id: string) => Promise<RecordedEvent | undefined>;
  /** Seconds a client should wait before asking again for a pending proof (BATCH_MAX_SECONDS). */
  retryAfterSeconds?: number;
};

export type BatchView = {
  id: number;
  firstSeq: number;
  lastSeq: number;
  size: number;
  firstPosition: number;
  lastPosition: number;
  root: Hex;
  prevRoot: Hex;
  signer: Hex;
  signature: Hex;
  sealedAt: string;
  anchor: { chainId: number; contract: Hex; txHash: Hex; blockNumber: number; gasUsed: number; anchoredAt: string } | null;
};

function view(b: SealedBatch, a: AnchorRecord | undefined): BatchView {
  return {
    id: b.batchId,
    firstSeq: b.firstSeq,
    lastSeq: b.lastSeq,
    size: b.lastSeq - b.firstSeq + 1,
    firstPosition: b.firstPosition,
    lastPosition: b.lastPosition,
    root: b.root as Hex,
    prevRoot: b.prevRoot as Hex,
    signer: b.signer as Hex,
    signature: b.signature as Hex,
    sealedAt: b.sealedAt,
    anchor: a
      ? { chainId: a.chainId, contract: a.contract as Hex, txHash: a.txHash as Hex, blockNumber: a.blockNumber, gasUsed: a.gasUsed, anchoredAt: a.anchoredAt }
      : null,
  };
}

async function anchors(deps: ProofQueryDependencies): Promise<readonly AnchorRecord[]> {
  const stream = await deps.anchorStream();
  // The current anchor of each batch: after ANCHORS_LOST, the transaction that anchored it again.
  return stream ? deps.batchLog.currentAnchors(stream) : [];
}

/**
 * Sealed batches, newest first, with their anchor (null until anchored).
 * `before` is an exclusive batch id cursor for the next page.
 */
export async function listBatches(deps: ProofQueryDependencies, p: { before?: number; limit?: number } = {}): Promise<BatchView[]> {
  const [sealed, anchored] = await Promise.all([deps.batchLog.sealedBatches(), anchors(deps)]);
  const limit = Math.min(Math.max(p.limit ?? 50, 1), 500);
  const end = Math.min(p.before ?? sealed.length, sealed.length);
  const out: BatchView[] = [];
  for (let id = end - 1; id >= 0 && out.length < limit; id--) out.push(view(sealed[id], anchored[id]));
  return out;
}

/** One batch; NotFoundError (404) when not sealed. */
export async function getBatch(deps: ProofQueryDependencies, id: number): Promise<BatchView> {
  const [sealed, anchored] = await Promise.all([deps.batchLog.sealedBatches(), anchors(deps)]);
  const b = Number.isSafeInteger(id) && id >= 0 ? sealed[id] : undefined;
  if (!b) throw new NotFoundError('batch', String(id));
  return view(b, anchored[id]);
}

/** The export an auditor re-derives a batch root from (`openmcp verify-batch`). */
export type BatchExport = { batch: BatchView; events: RecordedEvent[] };

/** A batch and all its events in seq order. BatchIntegrityError if the store no longer has them all. */
export async function getBatchEvents(deps: ProofQueryDependencies, id: number): Promise<BatchExport> {
  const batch = await getBatch(deps, id);
  const events = await readBatchEvents(deps.store, batch);
  if (events.length !== batch.size) throw new BatchIntegrityError(id, `expected ${batch.size} events, the store returned ${events.length}`);
  return { batch, events };
}

// Trees of recently asked batches: a burst of proofs for one batch builds its tree once.
const treeCache = new Map<string, { tree: BatchTree; events: RecordedEvent[] }>();
const TREE_CACHE_SIZE = 16;

async function batchTree(deps: ProofQueryDependencies, b: SealedBatch): Promise<{ tree: BatchTree; events: RecordedEvent[] }> {
  const key = `${deps.store.name}:${b.batchId}:${b.root}`;
  const hit = treeCache.get(key);
  if (hit) return hit;
  const events = await readBatchEvents(deps.store, b);
  const tree = buildTree(batchLeaves(b.firstSeq, events));
  if (toHex(tree.root) !== b.root) throw new BatchIntegrityError(b.batchId, `stored events give root ${toHex(tree.root)}, sealed root is ${b.root}`);
  if (treeCache.size >= TREE_CACHE_SIZE) treeCache.delete(treeCache.keys().next().value!);
  const entry = { tree, events };
  treeCache.set(key, entry);
  return entry;
}

/**
 * Whether `event`'s batch, not sealed when looked for, holds only bookkeeping (the events after the
 * last sealed batch), which the sealer does not seal on time (createSealer): then a proof of it waits
 * for another event. Such a run is a few events (a seal's and an anchor's); the read stops at the
 * first other event, and at 1000: a longer run of bookkeeping alone is sealed by size.
 */
async function onlyBookkeepingUnsealed(deps: ProofQueryDependencies, event: RecordedEvent): Promise<boolean> {
  const sealed = await deps.batchLog.sealedBatches();
  let after = sealed.length ? sealed[sealed.length - 1].lastPosition : undefined;
  // Sealed since its batch was looked for: it waits for its anchor now, not for another event.
  if (after !== undefined && after >= event.position) return false;
  for (let read = 0; read < 1000; ) {
    const page = await deps.store.readAll({ after, limit: 50 });
    if (page.some((e) => !BOOKKEEPING_TYPES.has(e.type))) return false;
    if (page.length < 50) return true;
    read += page.length;
    after = page[page.length - 1].position;
  }
  return true;
}

/**
 * The `openmcp-proof/1` file for one event. NotFoundError when the event does not exist;
 * ProofPendingError (409 PROOF_PENDING, with retryAfterSeconds) until its batch is anchored.
 */
export async function buildProof(deps: ProofQueryDependencies, eventId: string): Promise<ProofFile> {
  const event = await deps.findEvent(eventId);
  if (!event) throw new NotFoundError('event', eventId);
  return buildProofForEvent(deps, event);
}

/** As buildProof, for an event already at hand. */
export async function buildProofForEvent(deps: ProofQueryDependencies, event: RecordedEvent): Promise<ProofFile> {
  const retry = deps.retryAfterSeconds ?? 10;
  const b = await deps.batchLog.batchAtPosition(event.position);
  if (!b) throw new ProofPendingError(event.id, 'unsealed', retry, BOOKKEEPING_TYPES.has(event.type) && (await onlyBookkeepingUnsealed(deps, event)));
  const a = (await anchors(deps))[b.batchId];
  if (!a) throw new ProofPendingError(event.id, 'unanchored', retry);
  const { tree, events } = await batchTree(deps, b);
  const index = events.findIndex((e) => e.id === event.id);
  if (index < 0 || events[index].hash !== event.hash) throw new BatchIntegrityError(b.batchId, `event ${event.id} is not in the stored batch`);
  return {
    format: PROOF_FORMAT,
    event: events[index],
    seq: b.firstSeq + index,
    batch: {
      id: b.batchId,
      firstSeq: b.firstSeq,
      lastSeq: b.lastSeq,
      root: b.root as Hex,
      prevRoot: b.prevRoot as Hex,
      signer: b.signer as Hex,
      signature: b.signature as Hex,
    },
    index,
    treeSize: tree.size,
    path: tree.inclusionProof(index).map(toHex),
    anchor: { chainId: a.chainId, contract: a.contract as Hex, txHash: a.txHash as Hex, blockNumber: a.blockNumber },
  };
}
