import type { Hex } from '../core/hex';
import { batchSignatureProblem, recoverBatchHeadSigner } from './batch-head';

/** A signed batch head as a proof file's `batch` and the batch export's `batch` both carry it. */
export type SignedBatchHead = { id: number; firstSeq: number; lastSeq: number; root: string; prevRoot: string; signer: string; signature: string };

/** What a file names as the signer when no `--signer` was pinned: `what` is the kind of file (a proof file, an export). */
export const unpinnedSigner = (what: string) => `named by the ${what}, not pinned: pass --signer <the operator's sealer address>`;

/**
 * The "batch signature" check of `openmcp verify` and `openmcp verify-batch`: the signature is in
 * the one encoding of docs/proofs.md §4, recovers the head's named `signer` over its five signed
 * fields, and that signer is the `pinned` one when given. `what` names the file in the detail of an
 * unpinned pass. Its browser twin is in ui/app/verify/verify-proof.js (proof files only).
 * @example checkBatchSignature(proof.batch, undefined, 'proof file') // { ok: true, detail: 'signed by 0x… (named by the proof file, not pinned: …)' }
 */
export function checkBatchSignature(batch: SignedBatchHead, pinnedSigner: string | undefined, what: string): { ok: boolean; detail: string } {
  const head = { batchId: batch.id, firstSeq: batch.firstSeq, lastSeq: batch.lastSeq, root: batch.root as Hex, prevRoot: batch.prevRoot as Hex };
  const sigProblem = batchSignatureProblem(batch.signature);
  const signer = recoverBatchHeadSigner(head, batch.signature)?.toLowerCase();
  const named = String(batch.signer).toLowerCase();
  const pinned = pinnedSigner?.toLowerCase();
  const ok = !!signer && signer === named && (pinned === undefined || signer === pinned);
  const detail = ok
    ? `signed by ${signer}${pinned ? ' (the sealer you pinned)' : ` (${unpinnedSigner(what)})`}`
    : sigProblem
      ? `the signature ${sigProblem}`
      : signer && signer === named && pinned
        ? `signed by ${signer}, not by the sealer you pinned, ${pinned}`
        : `recovers ${signer ?? 'nothing'}, file names ${batch.signer}`;
  return { ok, detail };
}
