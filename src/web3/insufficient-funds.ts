import { isError } from 'ethers';

/** The node's own words in a failed JSON-RPC call (ethers keeps them as `error` or `info.error`), else the message. */
export function rpcMessage(err: unknown): string {
  const e = err as { message?: unknown; error?: { message?: unknown }; info?: { error?: { message?: unknown } } } | null;
  return `${String(e?.error?.message ?? '')} ${String(e?.info?.error?.message ?? '')} ${String(e?.message ?? '')}`;
}

/**
 * Whether the node refused a transaction because its sender cannot pay for it: geth's "insufficient
 * funds for gas * price + value" (ethers' INSUFFICIENT_FUNDS), or Hardhat's "Sender doesn't have
 * enough funds", which ethers leaves as "could not coalesce error" with the whole signed transaction.
 * @example if (isInsufficientFunds(err)) throw new AnchorerNoFundsError(account, chainId, await provider.getBalance(account), batchId, err)
 */
export function isInsufficientFunds(err: unknown): boolean {
  return isError(err, 'INSUFFICIENT_FUNDS') || /insufficient funds|enough funds/i.test(rpcMessage(err));
}
