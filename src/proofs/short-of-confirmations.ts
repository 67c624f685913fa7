export type ShortOfConfirmationsParameters = {
  batchId: number;
  /** The anchor transaction, mined in `blockNumber`. */
  hash: string;
  blockNumber: number;
  /** The chain's newest block, read after the wait for confirmations timed out. */
  head: number;
  /** CHAIN_CONFIRMATIONS (at least 1). */
  confirmations: number;
  waitMs: number;
};

/**
 * What the anchorer says of a mined anchor whose wait for its confirmations timed out, or
 * undefined when it is short of none: mined (or its last confirmation came) just after the wait
 * gave up, the next wait returns at once, and "1 of the 1 confirmations … a node that mines only
 * for transactions?" would mislead. Said each round: on a node that mines only for transactions
 * (a dev node) they never come.
 * @example shortOfConfirmations({ batchId: 0, hash, blockNumber: 7, head: 7, confirmations: 3, waitMs: 500 }) // '… has 1 of the 3 confirmations …'
 */
export function shortOfConfirmations(p: ShortOfConfirmationsParameters): string | undefined {
  const got = p.head - p.blockNumber + 1;
  if (got >= p.confirmations) return undefined;
  const why = got === 1 ? ': no block came after it (a node that mines only for transactions?)' : '';
  return `anchor(${p.batchId}) transaction ${p.hash} is mined in block ${p.blockNumber} but has ${got} of the ${p.confirmations} confirmations CHAIN_CONFIRMATIONS asks after ${p.waitMs} ms${why}; still waiting`;
}
