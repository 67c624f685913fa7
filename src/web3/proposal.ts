import { hashCanonical } from '../core/hash';
import type { Hex } from '../core/hex';

/**
 * A transaction as the approver sees it: decoded, canonical, and complete (the gas limit is
 * fixed before approval, so an approved proposal is sent exactly as shown).
 * `to` is lowercase; `args` are the ABI-decoded arguments with integers and bytes as strings;
 * `value` and `gas` are decimal strings.
 */
export type Proposal = {
  chainId: number;
  to: string;
  /** The function's name (`transfer`). */
  method: string;
  /**
   * The exact function signed (`transfer(address,uint256)`): with overloads the name alone does
   * not say which. Hashed with the rest; absent in proposals recorded before 2026-12-05 (signed by
   * `method`, which then must name one function).
   */
  signature?: string;
  args: unknown[];
  value: string;
  gas: string;
  /**
   * The task step that proposes it. Hashed with the rest, so an approval is for this one
   * transaction: a second, identical transfer in the same task (a loop, a model told to repeat
   * it) has another hash and needs its own approval. Absent in proposals recorded before 2026-12-05.
   */
  stepId?: string;
};

/** SHA-256 of the RFC 8785 canonical JSON of the proposal: what an approval names. */
export function proposalHash(p: Proposal): Hex {
  const { chainId, to, method, signature, args, value, gas, stepId } = p;
  // Optional fields only when present: a proposal recorded without them keeps its hash.
  return hashCanonical({ chainId, to, method, args, value, gas, ...(signature !== undefined ? { signature } : {}), ...(stepId !== undefined ? { stepId } : {}) });
}
