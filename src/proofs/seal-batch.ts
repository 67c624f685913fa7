import type { RecordedEvent } from '../core/envelope';
import { toHex, type Hex } from '../core/hex';
import type { BatchSealedData } from '../../events/proofs.events';
import { signBatchHead, signerAddress, type BatchHead } from './batch-head';
import { buildTree, leafHash, type BatchTree } from './merkle';

export type SealBatchParameters = {
  batchId: number;
  /** seq of events[0]; the rest follow without gaps. */
  firstSeq: number;
  prevRoot: Hex;
  /** The batch's events in log order. Requires at least one. */
  events: readonly RecordedEvent[];
  sealerKey: Hex;
};

/** The leaves of a batch: leafHash(firstSeq + i, events[i].hash). */
export function batchLeaves(firstSeq: number, events: readonly Pick<RecordedEvent, 'hash'>[]): Buffer[] {
  return events.map((e, i) => leafHash(firstSeq + i, e.hash));
}

/** Build, hash and sign one batch (pure apart from the signature, which is deterministic). */
export function sealBatch(p: SealBatchParameters): { data: BatchSealedData; tree: BatchTree } {
  const tree = buildTree(batchLeaves(p.firstSeq, p.events));
  const head: BatchHead = {
    batchId: p.batchId,
    firstSeq: p.firstSeq,
    lastSeq: p.firstSeq + p.events.length - 1,
    root: toHex(tree.root),
    prevRoot: p.prevRoot,
  };
  return {
    tree,
    data: {
      ...head,
      firstPosition: p.events[0].position,
      lastPosition: p.events[p.events.length - 1].position,
      signer: signerAddress(p.sealerKey).toLowerCase(),
      signature: signBatchHead(head, p.sealerKey),
    },
  };
}
