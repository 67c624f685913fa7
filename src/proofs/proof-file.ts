import type { RecordedEvent } from '../core/envelope';
import type { Hex } from '../core/hex';

export const PROOF_FORMAT = 'openmcp-proof/1';

/** What an auditor gets (DESIGN.md "Proof file"). Every binary value is 0x lowercase hex. */
export type ProofFile = {
  format: typeof PROOF_FORMAT;
  event: RecordedEvent;
  seq: number;
  batch: { id: number; firstSeq: number; lastSeq: number; root: Hex; prevRoot: Hex; signer: Hex; signature: Hex };
  index: number;
  treeSize: number;
  path: Hex[];
  anchor: { chainId: number; contract: Hex; txHash: Hex; blockNumber: number };
};
