import { Transaction, type FunctionFragment, type TransactionReceipt } from 'ethers';
import { resolveFunction } from './contract-function';
import type { Hex } from '../core/hex';
import type { Proposal } from './proposal';
import { normalizeAbiValues } from './abi-values';
import type { ChainHandle, ChainRegistry, ContractHandle } from './chain-registry';
import type { NonceManager } from './nonce-manager';
import { Web3Error } from './web3-error';

export type ContractCallInput = {
  chainId: number;
  contract: string;
  method: string;
  args?: unknown[];
  value?: string | number;
  gasLimit?: string | number;
  /** The function `method` names, when the caller resolved it already in this contract's ABI (resolveFunction): not looked up again. */
  fn?: FunctionFragment;
};

/** prepareProposal's input: `beforeEstimate` sees the canonical proposal (gas: the given limit, else 0) before the node is asked for a gas estimate, and may refuse it by throwing. */
export type PrepareProposalInput = ContractCallInput & { beforeEstimate?: (draft: Proposal) => Promise<void> };

function encode(c: ContractHandle, f: FunctionFragment, args: unknown[]): string {
  try {
    return c.iface.encodeFunctionData(f, args);
  } catch (err) {
    throw new Web3Error('CONTRACT_CALL_FAILED', `${c.name}.${f.name}: bad arguments: ${(err as Error).message.split(' (')[0]}`);
  }
}

function decimal(v: string | number | undefined, field: string): bigint {
  if (v === undefined) return 0n;
  const s = String(v);
  if (!/^\d+$/.test(s)) throw new Web3Error('CONTRACT_CALL_FAILED', `${field} must be a non-negative integer (wei), got ${s}`);
  return BigInt(s);
}

/** What a revert or RPC failure says, short. */
function reason(err: unknown): string {
  const e = err as { shortMessage?: string; reason?: string; message?: string };
  return e.reason ?? e.shortMessage ?? e.message ?? String(err);
}

/**
 * Refuses a contract address without code: a call to it "succeeds" with no effect (a transfer is
 * mined as a plain call to an empty account) and a read answers `0x`. The embedded chain starts
 * empty at each start, so CHAINS_FILE's address then names nothing until the contract is deployed again.
 */
async function assertDeployed(chain: ChainHandle, c: ContractHandle): Promise<void> {
  let code: string;
  try {
    code = await chain.provider.getCode(c.address);
  } catch (err) {
    throw new Web3Error('CONTRACT_CALL_FAILED', `${c.name} (${c.address}): could not read its code on chain ${chain.chainId}: ${reason(err)}`, err);
  }
  if (code === '0x') {
    throw new Web3Error(
      'CONTRACT_CALL_FAILED',
      `${c.name} (${c.address}) has no contract code on chain ${chain.chainId}: deploy it there (a local chain starts empty at each start), or correct its address in CHAINS_FILE`,
    );
  }
}

/**
 * Refuses (CONTRACT_CALL_FAILED) a contract of CHAINS_FILE without code on its chain now: for a
 * proposal prepared before a wait (an approval), whose check at preparation may be stale by then.
 */
export async function assertContractDeployed(reg: ChainRegistry, chainId: number, contract: string): Promise<void> {
  const chain = reg.get(chainId);
  await assertDeployed(chain, reg.contract(chain, contract));
}

/** eth_call of a view function; the result normalized (integers as strings, lowercase addresses). */
export async function readContract(reg: ChainRegistry, input: ContractCallInput): Promise<{ chainId: number; to: string; method: string; result: unknown[] }> {
  const chain = reg.get(input.chainId);
  const c = reg.contract(chain, input.contract);
  const f = input.fn ?? resolveFunction(c, input.method);
  if (!f.constant) throw new Web3Error('CONTRACT_CALL_FAILED', `${c.name}.${f.name} changes state: send it as a transaction`);
  const data = encode(c, f, input.args ?? []);
  let out: string;
  try {
    out = await chain.provider.call({ to: c.address, data });
  } catch (err) {
    throw new Web3Error('CONTRACT_CALL_FAILED', `${c.name}.${f.name} reverted: ${reason(err)}`, err);
  }
  // An empty answer decodes to nothing (ethers' BAD_DATA): say why when the address has no code.
  if (out === '0x' && f.outputs.length) await assertDeployed(chain, c);
  const decoded = c.iface.decodeFunctionResult(f, out);
  return { chainId: chain.chainId, to: c.address, method: f.name, result: normalizeAbiValues(decoded, f.outputs) };
}

/**
 * Decode a proposed transaction into its canonical Proposal: arguments encoded then decoded
 * (one form per value) and the gas limit fixed now (estimate + 20% unless given), so the approver
 * sees, and the hash binds, exactly what will be sent.
 */
export async function prepareProposal(reg: ChainRegistry, input: PrepareProposalInput): Promise<Proposal> {
  const chain = reg.get(input.chainId);
  const c = reg.contract(chain, input.contract);
  const f = input.fn ?? resolveFunction(c, input.method);
  if (f.constant) throw new Web3Error('CONTRACT_CALL_FAILED', `${c.name}.${f.name} is a view function: read it instead`);
  const data = encode(c, f, input.args ?? []);
  const args = normalizeAbiValues(c.iface.decodeFunctionData(f, data), f.inputs);
  const value = decimal(input.value, 'value');
  if (value > 0n && !f.payable) throw new Web3Error('CONTRACT_CALL_FAILED', `${c.name}.${f.name} is not payable: value must be 0`);
  let gas = input.gasLimit === undefined ? undefined : decimal(input.gasLimit, 'gasLimit');
  const draft = { chainId: chain.chainId, to: c.address, method: f.name, signature: f.format('sighash'), args, value: value.toString() };
  await input.beforeEstimate?.({ ...draft, gas: (gas ?? 0n).toString() });
  // After the policy's first look: a denied call reaches the node in no form.
  await assertDeployed(chain, c);
  if (gas === undefined) {
    const from = chain.signer ? await chain.signer.getAddress() : undefined;
    try {
      gas = ((await chain.provider.estimateGas({ from, to: c.address, data, value })) * 12n) / 10n;
    } catch (err) {
      throw new Web3Error('CONTRACT_CALL_FAILED', `${c.name}.${f.name} would revert: ${reason(err)}`, err);
    }
  }
  return { ...draft, gas: gas.toString() };
}

/**
 * The fees a transaction is signed with (EIP-1559). `maxFeePerGas` is the most one unit of gas
 * can cost, so gasLimit × maxFeePerGas is the most its gas can cost.
 */
export type FeeQuote = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

/**
 * The fees to sign with now, from the chain's node (ethers' getFeeData: twice the latest base fee
 * plus the tip; a node without EIP-1559 gives its gas price, used as the max fee with no tip).
 */
export async function quoteFees(reg: ChainRegistry, chainId: number): Promise<FeeQuote> {
  const fees = await reg.get(chainId).provider.getFeeData();
  return { maxFeePerGas: fees.maxFeePerGas ?? fees.gasPrice ?? 1_000_000_000n, maxPriorityFeePerGas: fees.maxPriorityFeePerGas ?? 0n };
}

/**
 * `maxFeePerGas`: the highest fee per gas the signed bytes allow (their `maxFeePerGas`, or the
 * `gasPrice` of a legacy transaction), read from the transaction as signed: what its gas may cost.
 */
export type SignedTransaction = { chainId: number; from: string; nonce: number; txHash: Hex; rawTransaction: Hex; gasLimit: string; value: string; maxFeePerGas: string };

/**
 * Sign a proposal with the chain's wallet under the nonce manager, hand the signed transaction
 * to `onSigned` (which must record it durably), then broadcast it. Recording before broadcasting
 * means a crash can only leave a recorded transaction that was maybe sent: resume broadcasts the
 * same bytes again (same hash) instead of signing a second one.
 *
 * How a failed broadcast ends: the node refused it (it answered with an error, so it was never
 * sent) → `TX_REJECTED`; any other failure (timeout, connection lost, a gateway's 5xx) may have
 * come after the node took it, so the signed transaction is returned all the same, as maybe
 * sent: the caller awaits it with `waitForTransaction`, which broadcasts the same bytes again if
 * the node does not know it. Either way the nonce counter is dropped (the chain's count is used
 * next), as for any failed attempt. `NONCE_LOCK_LOST` (the sender's lock lapsed while signing or
 * recording) is as certain as `TX_REJECTED`: the transaction was not broadcast. Once the signed
 * transaction is recorded, only those two say it was not sent.
 *
 * `fn`: the function the proposal names, when the caller resolved it already in the contract's ABI.
 * `fees`: the fees to sign with (a policy decided on them: `quoteFees`); absent, the node's now.
 */
export async function signAndSend(reg: ChainRegistry, nonces: NonceManager, p: Proposal, onSigned: (tx: SignedTransaction) => Promise<void>, fn?: FunctionFragment, fees?: FeeQuote): Promise<SignedTransaction> {
  const chain = reg.get(p.chainId);
  const signer = chain.signer;
  if (!signer) throw new Web3Error('WALLET_NOT_CONFIGURED', `chain ${p.chainId} has no wallet in CHAINS_FILE`);
  const c = reg.contract(chain, p.to);
  // Exactly the function the proposal names (and its hash binds); a proposal recorded before
  // signatures names it by `method` alone, which resolves only when one function has that name.
  const f = fn ?? resolveFunction(c, p.signature ?? p.method);
  if (f.name !== p.method) throw new Web3Error('CONTRACT_CALL_FAILED', `${c.name}: proposal signature ${p.signature} is not a function named ${p.method}`);
  const data = c.iface.encodeFunctionData(f, p.args as unknown[]);
  const from = await signer.getAddress();
  let recorded: SignedTransaction | undefined;
  try {
    return await nonces.withNonce(chain.provider, chain.chainId, from, async (nonce, lock) => {
      const fee = fees ?? (await quoteFees(reg, p.chainId));
      const raw = (await signer.signTransaction({
        type: 2,
        chainId: p.chainId,
        from,
        to: p.to,
        data,
        value: BigInt(p.value),
        gasLimit: BigInt(p.gas),
        nonce,
        maxFeePerGas: fee.maxFeePerGas,
        maxPriorityFeePerGas: fee.maxPriorityFeePerGas,
      })) as Hex;
      const signed = Transaction.from(raw);
      const tx: SignedTransaction = {
        chainId: p.chainId,
        from: from.toLowerCase(),
        nonce,
        txHash: signed.hash!.toLowerCase() as Hex,
        rawTransaction: raw.toLowerCase() as Hex,
        gasLimit: p.gas,
        value: p.value,
        // From the bytes, not the request: a remote signer could have filled in other fees.
        maxFeePerGas: (signed.maxFeePerGas ?? signed.gasPrice ?? 0n).toString(),
      };
      // The signer may have taken long (a remote one waiting on a human): the lock must still be ours.
      await lock.check();
      await onSigned(tx);
      recorded = tx;
      await lock.used();
      // Lost while recording: not sent (NONCE_LOCK_LOST), so another sender's use of the nonce is safe.
      await lock.check();
      await broadcast(chain, tx.rawTransaction);
      return tx;
    });
  } catch (err) {
    if (recorded && err instanceof Web3Error && err.code === 'TX_FAILED') return recorded;
    throw err;
  }
}

/**
 * Whether a failed broadcast certainly did not send the transaction: the node answered with a
 * JSON-RPC error (ethers keeps it as `error` or `info.error`), i.e. it refused the transaction
 * (no funds, bad nonce, fee too low, invalid). Not an "internal error" (-32603) nor an answer
 * that speaks of a timeout: a gateway in front of the node says so after forwarding it. HTTP
 * failures, timeouts and lost connections are never certain.
 */
export function broadcastRefused(err: unknown): boolean {
  const rpc = rpcErrorOf(err);
  return !!rpc && rpc.code !== -32603 && !/time(d)?[ -]?out/i.test(rpc.message);
}

/** The JSON-RPC error object the node answered with, if the error carries one. */
function rpcErrorOf(err: unknown): { code: number; message: string } | undefined {
  const e = err as { error?: unknown; info?: { error?: unknown } } | null;
  const rpc = (e?.error ?? e?.info?.error) as { code?: unknown; message?: unknown } | undefined;
  return rpc && typeof rpc === 'object' && typeof rpc.code === 'number' ? { code: rpc.code, message: String(rpc.message ?? '') } : undefined;
}

async function broadcast(chain: ChainHandle, raw: string): Promise<void> {
  try {
    await chain.provider.broadcastTransaction(raw);
  } catch (err) {
    // The node may already have it (a resend after a crash): that is success. Not "nonce too
    // low": a mined transaction of ours is found by hash before any resend (waitForTransaction),
    // so that answer means another transaction took the nonce and these bytes can never be mined.
    if (/already known|known transaction|already imported|AlreadyKnown/i.test(reason(err))) return;
    if (broadcastRefused(err)) throw new Web3Error('TX_REJECTED', `chain ${chain.chainId} refused the transaction (it was not sent): ${rpcErrorOf(err)!.message || reason(err)}`, err);
    throw new Web3Error('TX_FAILED', `broadcast on chain ${chain.chainId} failed (the transaction may have been sent): ${reason(err)}`, err);
  }
}

/** `effectiveGasPrice`: what each unit of gas cost (the receipt's), when the node says. */
export type ConfirmedTransaction = { txHash: Hex; blockNumber: number; blockHash: Hex; status: 'success' | 'reverted'; gasUsed: string; effectiveGasPrice?: string };

/**
 * Whether a broadcast was refused because the sender's nonce is used already: ethers v6 code
 * NONCE_EXPIRED ("nonce has already been used"), or the node's own words (geth "nonce too low",
 * Hardhat "Nonce too low. Expected nonce to be …").
 */
function nonceUsed(err: unknown): boolean {
  const e = (err instanceof Web3Error ? err.cause : err) as { code?: unknown } | undefined;
  return e?.code === 'NONCE_EXPIRED' || /nonce too low|nonce has already been used/i.test(`${reason(e)} ${rpcErrorOf(e)?.message ?? ''}`);
}

/**
 * Wait for a recorded transaction's receipt. When the node does not know it (the broadcast was
 * lost in a crash), the recorded raw transaction is broadcast again: same bytes, same hash.
 *
 * A resend refused with "nonce too low" proves nothing either: the node that answered "unknown"
 * may lag behind the one that mined it (a load-balanced RPC URL), and a mined transaction uses its
 * nonce too. So its receipt is looked for until the deadline, and only then does the wait fail
 * (TX_FAILED: the nonce was taken and the transaction not found).
 */
export async function waitForTransaction(
  reg: ChainRegistry,
  tx: { chainId: number; txHash: string; rawTransaction?: string },
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ConfirmedTransaction> {
  const chain = reg.get(tx.chainId);
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let taken: Web3Error | undefined;
  const known = await chain.provider.getTransaction(tx.txHash);
  if (!known) {
    if (!tx.rawTransaction) throw new Web3Error('TX_DROPPED', `transaction ${tx.txHash} is unknown to chain ${tx.chainId}`);
    // A stopped wait (task cancelled, runtime stopping) sends nothing, not even the same bytes again.
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    try {
      await broadcast(chain, tx.rawTransaction);
    } catch (err) {
      // A refused re-broadcast says nothing certain about an earlier attempt that may have gone
      // out (through another node, or before a lost connection): the outcome stays unknown.
      if (!(err instanceof Web3Error && err.code === 'TX_REJECTED')) throw err;
      if (!nonceUsed(err)) throw new Web3Error('TX_FAILED', `transaction ${tx.txHash} is unknown to chain ${tx.chainId} and sending it again was refused: ${err.message}`, err);
      taken = err;
    }
  }
  let receipt: TransactionReceipt | null = null;
  for (;;) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    receipt = await chain.provider.getTransactionReceipt(tx.txHash);
    if (receipt && (chain.confirmations <= 1 || (await receipt.confirmations()) >= chain.confirmations)) break;
    if (Date.now() > deadline && taken) {
      throw new Web3Error('TX_FAILED', `transaction ${tx.txHash} was not found on chain ${tx.chainId} within ${opts.timeoutMs ?? 120_000} ms and its nonce is taken (sending it again: ${taken.message}): another transaction used the nonce, or the node does not show this one`, taken);
    }
    if (Date.now() > deadline) throw new Web3Error('TX_FAILED', `transaction ${tx.txHash} not mined within ${opts.timeoutMs ?? 120_000} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    txHash: receipt.hash.toLowerCase() as Hex,
    blockNumber: receipt.blockNumber,
    blockHash: receipt.blockHash.toLowerCase() as Hex,
    status: receipt.status === 1 ? 'success' : 'reverted',
    gasUsed: receipt.gasUsed.toString(),
    ...(typeof receipt.gasPrice === 'bigint' && receipt.gasPrice > 0n ? { effectiveGasPrice: receipt.gasPrice.toString() } : {}),
  };
}
