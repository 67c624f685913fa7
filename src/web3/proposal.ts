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
  method: string;
  args: unknown[];
  value: string;
  gas: string;
};

/** SHA-256 of the RFC 8785 canonical JSON of the proposal: what an approval names. */
export function proposalHash(p: Proposal): Hex {
  const { chainId, to, method, args, value, gas } = p;
  return hashCanonical({ chainId, to, method, args, value, gas });
}
