import type { Contract, JsonRpcProvider } from 'ethers';
import type { ProofFile } from './proof-file';
import { chainReadProblem } from './rpc-unreachable';

/** What the chain says of a proof file's anchor transaction: `ok` false only for a false account of it; `warning` for one a reorg explains. */
export type AnchorTransactionCheck = { ok: boolean; detail: string; warning?: string };

/**
 * Check `p.anchor.txHash` and `p.anchor.blockNumber` against the chain, once `p.batch`'s root and
 * range are found on the AuditAnchor `contract` (at `address`). Not evidence of the event (the root
 * `batch(id)` returns is): a pointer, checked so that a file does not name what did not anchor it.
 *
 * - the transaction emitted BatchAnchored of this batch, range and root from `address` in the named block: ok;
 * - not on the chain, reverted, or in another block: ok with a warning. A reorg deeper than the
 *   operator's confirmations explains each (the transaction lost and the batch anchored again by
 *   another, or mined again elsewhere: the gateway's BatchReanchored), as does a node that keeps no
 *   index of old transactions (not found), so the file may be one exported before: not a failure;
 * - mined and successful without that BatchAnchored: fails. The same signed transaction makes the
 *   same call wherever it is mined, so no reorg explains it: the file's account of its anchor is
 *   false (as a file naming another contract than the pinned one).
 * An RPC that will not answer the read is a warning too: the verdict does not rest on it.
 */
export async function checkAnchorTransaction(provider: JsonRpcProvider, contract: Contract, address: string, p: ProofFile, rpcUrl: string): Promise<AnchorTransactionCheck> {
  const { txHash, blockNumber } = p.anchor;
  const id = p.batch.id;
  const counts = `the root batch(${id}) returns is what counts`;
  let receipt: RawReceipt | null;
  try {
    receipt = await readReceipt(provider, txHash);
  } catch (err) {
    // Named as the other chain reads are, the URL's key masked (ethers' message holds the URL).
    return warn(`transaction ${txHash} could not be read (${chainReadProblem(err, rpcUrl, p.anchor.chainId)}): ${counts}`);
  }
  if (!receipt) {
    return warn(`transaction ${txHash} is not on this chain (lost in a reorg and batch ${id} anchored again by another, which GET /v1/batches/${id} names; or a node that keeps no index of old transactions): ${counts}`);
  }
  if (receipt.status !== 1) return warn(`transaction ${txHash} reverted in block ${receipt.blockNumber} (after a reorg, batch ${id} anchored by another first): ${counts}`);
  const anchoredHere = receipt.logs.some((l) => {
    if (String(l.address).toLowerCase() !== address.toLowerCase()) return false;
    const e = parsed(contract, l);
    return e?.name === 'BatchAnchored' && Number(e.args[0]) === id && Number(e.args[1]) === p.batch.firstSeq && Number(e.args[2]) === p.batch.lastSeq && e.args[3] === p.batch.root;
  });
  if (!anchoredHere) return { ok: false, detail: `transaction ${txHash} in block ${receipt.blockNumber} anchored no batch ${id} of this root on ${address}: the file's account of its anchor is false` };
  if (receipt.blockNumber !== blockNumber) {
    return warn(`transaction ${txHash} anchored batch ${id} in block ${receipt.blockNumber}, not in block ${blockNumber} as the file says (a reorg moved it; GET /v1/batches/${id} names its block now): ${counts}`);
  }
  return { ok: true, detail: `anchored by transaction ${txHash} in block ${blockNumber}` };
}

type RawReceipt = { status: number; blockNumber: number; logs: { address: string; topics: string[]; data: string }[] };

/**
 * The receipt's status, block and logs as the node gives them (null: it holds no such transaction),
 * read as the browser verifier reads them (ui/app/verify/anchor-rpc.js): ethers' getTransactionReceipt
 * also asks eth_getTransactionByHash of a receipt without effectiveGasPrice (an older node's), which
 * an RPC may refuse for old transactions, and checks fields this does not need.
 */
async function readReceipt(provider: JsonRpcProvider, txHash: string): Promise<RawReceipt | null> {
  const r = (await provider.send('eth_getTransactionReceipt', [txHash])) as { status?: string; blockNumber?: string; logs?: RawReceipt['logs'] } | null;
  if (!r) return null;
  return { status: Number(BigInt(r.status as string)), blockNumber: Number(BigInt(r.blockNumber as string)), logs: r.logs ?? [] };
}

function warn(warning: string): AnchorTransactionCheck {
  return { ok: true, detail: warning, warning };
}

function parsed(contract: Contract, log: { topics: readonly string[]; data: string }) {
  try {
    return contract.interface.parseLog(log);
  } catch {
    return null;
  }
}
