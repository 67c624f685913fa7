import { Wallet, formatUnits, isError, type Contract, type FeeData, type JsonRpcProvider, type TransactionReceipt, type TransactionResponse } from 'ethers';
import { createEvent } from '../core/envelope';
import { OpenMcpError, WrongExpectedRevisionError } from '../core/errors';
import { NO_ANSWER, within } from '../core/within';
import type { Hex } from '../core/hex';
import type { EventStore } from '../eventstore/port';
import type { BatchAnchoredData } from '../../events/proofs.events';
import { auditAnchorAt } from '../web3/audit-anchor';
import { blocksAtTimestamp } from '../web3/block-at-timestamp';
import { isInsufficientFunds } from '../web3/insufficient-funds';
import { createRpcProvider } from '../web3/provider';
import { ANCHORER_ACTOR, AUDIT_TENANT, anchorStreamName, type AnchorTarget } from '../../events/audit-streams';
import { BatchLog, type AnchorRecord, type SealedBatch } from './batch-log';
import { AnchorContractMissingError, AnchorDelayedError, AnchorerNoFundsError, AnchorMismatchError, AnchorsLostError } from './errors';
import { lastAnchorSent, recordAnchorSent } from './anchor-sent';
import { recordReanchor } from './record-reanchor';
import { shortOfConfirmations } from './short-of-confirmations';
import { chainChangedError, chainMovedError, wrongChainError } from './wrong-chain';
import { chainRpcProblem, rpcRefusal } from './chain-rpc-problem';

export type AnchorerOptions = {
  rpcUrl: string;
  contract: string;
  /**
   * The chain id the RPC must serve (CHAIN_ID). Another one is refused (CONFIG_INVALID) by every
   * call, reads included: nothing is anchored there and no anchor stream of it is named.
   */
  chainId?: number;
  /**
   * The key holding AuditAnchor's anchorer role. Only a process running the anchorer role has it:
   * without it the anchorer only reads (target(), anchorStream() for proofs, batches, /readyz),
   * and tick() / start() throw.
   */
  privateKey?: Hex;
  /**
   * Blocks a batch's transaction must have before the batch counts as anchored (CHAIN_CONFIRMATIONS;
   * 1 = mined; 0 is taken as 1: a batch is recorded with its block). The same bar holds for a batch
   * found on chain but not recorded (a restart after a send): it is recorded once that deep.
   */
  confirmations?: number;
  /**
   * Send an anchor transaction again (same nonce, same call, higher fees) when it is not mined
   * within this long (default 180 s). A transaction the node dropped, or one whose fees a base-fee
   * spike left behind, is never mined: waiting for it alone, the anchorer would stall for good.
   */
  txTimeoutMs?: number;
  /**
   * Fee cap in wei per gas (ANCHOR_MAX_FEE_GWEI): no anchor transaction offers more, first send or
   * replacement. While the market asks more, the transaction waits at the cap (logged each round)
   * and is mined when fees fall. Unset: no cap, the market's fee is paid rather than stall.
   */
  maxFeePerGas?: bigint;
  pollIntervalMs?: number;
  /**
   * How often the background loop reads the chain while every sealed batch is recorded (default
   * 30 s): it still checks then that the chain kept what it holds (ANCHORS_LOST, ANCHOR_MISMATCH),
   * without spending four RPC requests every poll (two eth_calls, each after ethers' eth_chainId: 1.7 million a day, past a hosted RPC's free quota).
   * A new sealed batch is anchored at the next poll all the same. tick() called directly always reads.
   */
  idleChainCheckMs?: number;
  /** Retry delays grow from min to max while the chain is unreachable. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * anchorStream() looks at the chain's genesis again when its answer is older than this
   * (default 10 s), so an instance that only serves queries (the anchorer runs in another
   * process) follows a chain restarted with a new genesis to its new anchor stream.
   */
  targetMaxAgeMs?: number;
  /**
   * Longest anchorStream() waits for the chain when it already knows a stream (default 3 s): a
   * chain RPC that does not answer (a request waits up to 30 s) then answers with the chain last seen,
   * so proof, batch and /metrics requests do not hang with it.
   */
  queryWaitMs?: number;
  onAnchored?: (record: AnchorRecord) => void;
  /**
   * The anchorer account's balance, read once after each anchor this process sees mined (never
   * while idle: no RPC request of its own), with that anchor's cost; also the balance read when a
   * send is refused for want of funds. For the low-funds alert (openmcp_anchorer_balance_wei).
   */
  onFunds?: (funds: AnchorerFunds) => void;
  onError?: (err: unknown) => void;
  /** What an operator should know that is not an error: a new deployment to anchor every batch onto again. */
  log?: (line: string) => void;
  /**
   * Called before each anchor transaction is sent; throw to stop (a deposed leader's term: the
   * fenced event store guards the log, this guards the chain, where there is no token to check).
   */
  beforeSend?: () => Promise<void>;
  /**
   * Without chainId: the chain id the process's anchorers keep to, shared by them (the one serving
   * queries and each leader term's): set at the first contact of any of them, and an anchorer made
   * later expects that chain from the start, refusing another (CONFIG_INVALID) as a running one does.
   * Unset: this anchorer's own first contact.
   */
  firstChain?: { id?: number };
  /** Test hook: called at named points so crash tests can abort in the middle. */
  faults?: (point: 'before-send' | 'after-send' | 'after-confirm') => void | Promise<void>;
};

/** The anchorer account (lowercase), its balance in wei, and what its last anchor cost (gas used × effective gas price; undefined: none mined by this process yet). */
export type AnchorerFunds = { account: string; balanceWei: bigint; lastAnchorCostWei?: bigint };

export type Anchorer = {
  /** Anchor every sealed batch the chain does not have yet, in order. Returns how many. */
  tick(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
  /** Where this anchorer writes (resolved on first contact with the chain). */
  target(): Promise<AnchorTarget>;
  /** The stream holding this deployment's BatchAnchored events. */
  anchorStream(): Promise<string>;
  /** The chain id of this process's first contact with the chain (undefined before it): the one it keeps to (ethers' provider refuses another). */
  startedOn(): number | undefined;
};

/** What an anchorer made without a key says when asked to anchor (never reached: only the anchorer role starts it, with its key). */
export const NO_ANCHORER_KEY = 'this process has no anchorer key: it does not run the anchorer role';

/**
 * Create the anchorer: anchors sealed batches onto AuditAnchor strictly in batch order and
 * records each as BatchAnchored in this deployment's anchor stream (revision = batch id).
 *
 * Crash safety: what is anchored is read from the contract (nextBatchId), never remembered.
 * Batches the chain has but the log lacks (a crash after mining) get their BatchAnchored
 * rebuilt from the contract's BatchAnchored log. A transaction still pending from a previous
 * run is waited out before anything new is sent, so a batch is never sent on two nonces; one the
 * previous run recorded as BatchAnchorSent (late, or stopped while waited for), or that the node's
 * pool shows as its anchor of an unrecorded batch (killed before any record), is taken on as this
 * run's own: waited for and raised while stuck. A batch anchored again after ANCHORS_LOST gets
 * BatchReanchored naming its anchor now.
 *
 * Without `privateKey` (a process that does not run the anchorer role) it only reads the chain:
 * target() and anchorStream() answer, tick() and start() throw NO_ANCHORER_KEY.
 */
export function createAnchorer(store: EventStore, opts: AnchorerOptions, log = new BatchLog(store)): Anchorer {
  // With CHAIN_ID the provider expects that chain from the start: left to find one, it keeps to the
  // chain of its first answer, and a URL that served another one then was refused for the process's life.
  // Without it, an anchorer made after the first contact (the next leader term's) keeps to the
  // chain met then: left to its own first answer, it took a chain the URL moved to since for a new deployment.
  const firstChain = opts.firstChain ?? {};
  const provider: JsonRpcProvider = createRpcProvider(opts.rpcUrl, { chainId: opts.chainId ?? firstChain.id });
  // Without a key, the contract is bound to the provider: its views answer, anchor() cannot be sent.
  const wallet = opts.privateKey ? new Wallet(opts.privateKey, provider) : undefined;
  const contract: Contract = auditAnchorAt(opts.contract, wallet ?? provider);
  /** The anchorer's account; every path that signs or names the account goes through it. */
  function signer(): Wallet {
    if (!wallet) throw new Error(NO_ANCHORER_KEY);
    return wallet;
  }
  // A record names the transaction's block: there is none to name before it is mined.
  const confirmations = Math.max(1, opts.confirmations ?? 1);
  let resolvedTarget: AnchorTarget | undefined;
  let resolvedAt = 0;
  /** The chain (`chainId:genesisHash`) on which the contract's code was last seen. */
  let codeSeenOn: string | undefined;
  let nonce: number | undefined;
  /** `nonce` was read from the chain this round (by waitForPendingTransactions): the round's first send need not read it again. */
  let nonceFresh = false;
  /**
   * The anchor transaction this process sent and has not seen through (mined to its confirmations,
   * or ended: failed, reverted, replaced by another call). Kept across a round that failed while
   * waiting for it (an RPC refusing a moment, a replacement the account could not pay), so the next
   * round waits for it again, and sends it again with higher fees while it stays stuck, instead of
   * taking it for an earlier run's transaction, which is only waited for (and which a node that
   * leaves a transaction below the base fee out of its pending count, as Hardhat does, does not
   * show at all: the next anchor went out on its nonce, refused as underpriced while the spike lasted).
   */
  let inFlight: InFlight | undefined;

  async function target(maxAgeMs = Infinity): Promise<AnchorTarget> {
    if (resolvedTarget && Date.now() - resolvedAt < maxAgeMs) return resolvedTarget;
    // The code is looked for once per chain: on first contact (in the same round trip) and on a
    // chain with a new genesis, where the contract may not be deployed yet. A refresh that finds
    // the chain it saw the code on does not ask again: a node that kept its genesis is the same
    // deployment (the same anchor stream) whatever it lost, and tick() meets a lost contract anyway.
    const [network, genesis, firstCode] = await Promise.all([provider.getNetwork(), provider.getBlock(0), codeSeenOn === undefined ? provider.getCode(opts.contract) : undefined]).catch(
      (err: unknown) => Promise.reject(chainChangedError(err, opts.chainId)),
    );
    if (!genesis?.hash) throw new Error('chain returned no genesis block');
    const chainId = Number(network.chainId);
    if (opts.chainId !== undefined && chainId !== opts.chainId) throw wrongChainError(opts.chainId, chainId);
    // Another anchorer of the process met its chain first, after this one's provider was made.
    if (opts.chainId === undefined && firstChain.id !== undefined && chainId !== firstChain.id) throw chainMovedError(firstChain.id, chainId);
    const chain = `${chainId}:${genesis.hash}`;
    if (chain !== codeSeenOn) {
      const code = firstCode ?? (await provider.getCode(opts.contract));
      // Else every call fails as "could not decode result data", which names nothing.
      if (code === '0x') throw new AnchorContractMissingError(opts.contract.toLowerCase(), chainId);
      // Code of another contract (an address copied from another chain or deployment) reverts
      // or answers nothing decodable to every call: named once here, not as each round's CALL_EXCEPTION.
      await contract.nextBatchId().catch((err: unknown) => {
        // Not an RPC refusing the call (a rate limit: ethers takes any error answer to eth_call for a revert).
        const notAuditAnchor = (isError(err, 'CALL_EXCEPTION') && !rpcRefusal(err)) || isError(err, 'BAD_DATA');
        throw notAuditAnchor ? new AnchorContractMissingError(opts.contract.toLowerCase(), chainId, 'not-audit-anchor', err) : err;
      });
      codeSeenOn = chain;
    }
    firstChain.id ??= chainId;
    resolvedTarget = { chainId, contract: opts.contract.toLowerCase(), genesisHash: genesis.hash };
    resolvedAt = Date.now();
    return resolvedTarget;
  }

  let refreshing: Promise<AnchorTarget> | undefined;
  /**
   * target() for queries. The chain's answer is waited for up to queryWaitMs when a target is
   * known already, else that one is used: a genesis seen seconds ago is the best answer a chain
   * that does not answer allows. Its errors (a new genesis without the contract) are thrown as
   * ever. One refresh at a time, so queries do not pile requests onto a hung RPC.
   */
  async function queryTarget(): Promise<AnchorTarget> {
    const known = resolvedTarget;
    const fresh = (refreshing ??= target(opts.targetMaxAgeMs ?? 10_000).finally(() => (refreshing = undefined)));
    if (!known) return fresh;
    const answer = await within(opts.queryWaitMs ?? 3000, fresh);
    return answer === NO_ANSWER ? known : answer;
  }

  async function record(b: SealedBatch, receipt: Pick<TransactionReceipt, 'hash' | 'blockNumber' | 'gasUsed'>): Promise<void> {
    const t = await target();
    const stream = anchorStreamName(t);
    const data: BatchAnchoredData = {
      batchId: b.batchId,
      firstSeq: b.firstSeq,
      lastSeq: b.lastSeq,
      root: b.root,
      chainId: t.chainId,
      contract: t.contract,
      txHash: receipt.hash.toLowerCase(),
      blockNumber: receipt.blockNumber,
      gasUsed: Number(receipt.gasUsed),
    };
    const event = createEvent({ type: 'BatchAnchored', stream, tenant: AUDIT_TENANT, actor: ANCHORER_ACTOR, data });
    try {
      await store.append(stream, [event], { expectedRevision: b.batchId === 0 ? 'no_stream' : b.batchId - 1 });
      opts.onAnchored?.({ ...data, anchoredAt: event.occurredAt, eventId: event.id });
    } catch (err) {
      // Another anchorer recorded it first: the record exists, which is all we need.
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      // Unless it names another anchor than this one, which the chain holds now: the contract takes
      // a batch id once, so the recorded one was lost (ANCHORS_LOST) and this is its anchor again.
      await reanchored(stream, data);
    }
  }

  /** Record `data` as its batch's current anchor if the log names another (recordReanchor), and say so. */
  async function reanchored(stream: string, data: BatchAnchoredData): Promise<void> {
    relost?.ids.delete(data.batchId);
    const written = await recordReanchor(store, log, { anchorStream: stream, anchor: data });
    if (written?.replacesTxHash === data.txHash) {
      opts.log?.(
        `anchorer: batch ${data.batchId}'s anchor transaction ${data.txHash} is in block ${data.blockNumber} now, not in block ${written.replacesBlockNumber} as recorded (a reorg deeper than CHAIN_CONFIRMATIONS, the transaction mined again; BatchReanchored): proofs name the new block`,
      );
    } else if (written) {
      opts.log?.(
        `anchorer: batch ${data.batchId} is anchored again by transaction ${data.txHash} in block ${data.blockNumber} (BatchReanchored): the chain lost transaction ${written.replacesTxHash} of block ${written.replacesBlockNumber}, which its BatchAnchored names; proofs name the new one`,
      );
    }
  }

  /** AnchorMismatchError unless the contract holds exactly this batch's root and range; returns its anchoredAt. */
  async function assertChainAgrees(b: SealedBatch): Promise<number> {
    const [root, firstSeq, lastSeq, anchoredAt] = (await contract.batch(b.batchId)) as [string, bigint, bigint, bigint];
    if (root !== b.root || Number(firstSeq) !== b.firstSeq || Number(lastSeq) !== b.lastSeq) {
      throw new AnchorMismatchError(b.batchId, `chain has root ${root} for seqs ${firstSeq}..${lastSeq}, the log has ${b.root} for ${b.firstSeq}..${b.lastSeq}`, {
        expectedRoot: b.root,
        chainRoot: root,
      });
    }
    return Number(anchoredAt);
  }

  /** Rebuild BatchAnchored for a batch the chain has but the log lacks, from the contract's event. */
  async function recover(b: SealedBatch): Promise<void> {
    await record(b, await anchorOnChain(b));
  }

  /** The transaction (and its block) whose BatchAnchored log on the contract anchors `b` now. */
  async function anchorOnChain(b: SealedBatch): Promise<Pick<TransactionReceipt, 'hash' | 'blockNumber' | 'gasUsed'>> {
    const l = await anchorLog(b);
    if (!l) throw new AnchorMismatchError(b.batchId, LOG_NOT_FOUND);
    const receipt = await provider.getTransactionReceipt(l.hash);
    return { ...l, gasUsed: receipt?.gasUsed ?? 0n };
  }

  /**
   * The transaction and block of the BatchAnchored log on the contract that anchors `b` now;
   * undefined when the RPC finds none. AnchorMismatchError when the contract holds another root or range.
   */
  async function anchorLog(b: SealedBatch): Promise<{ hash: string; blockNumber: number } | undefined> {
    // The block is found from the anchoring time: a log query over the whole chain is refused
    // by public RPCs (block range or result limits) once the chain is long.
    const blocks = await blocksAtTimestamp(provider, await assertChainAgrees(b));
    const logs = blocks ? await contract.queryFilter(contract.filters.BatchAnchored(b.batchId), blocks.first, blocks.last) : [];
    return logs[0] && { hash: logs[0].transactionHash, blockNumber: logs[0].blockNumber };
  }

  /**
   * Batches whose recorded anchor the chain lost (ANCHORS_LOST) and that are on chain again but not
   * sent by this round (a lost anchor a reorg put back in the mempool, mined in another block, or
   * one another anchorer sent): their anchor on chain is looked up once CHAIN_CONFIRMATIONS deep,
   * and recorded (BatchReanchored) when it is not the recorded one. Those this process sends again
   * are recorded from their receipt (record()).
   */
  let relost: { stream: string; ids: Set<number> } | undefined;

  /**
   * The newest record this anchorer (this run, this leader term) checked against the chain, and the
   * time the contract gives for its anchor then (batch(id).anchoredAt, its block's timestamp), which
   * every round that reads the chain reads anyway: another time is another block, the transaction
   * mined again elsewhere after a reorg deeper than the confirmations, and the records are checked again.
   */
  let checkedNewest: { stream: string; batchId: number; anchoredAt: number } | undefined;

  /**
   * At an anchorer's first round, after each newly recorded batch and whenever the newest batch's
   * anchoredAt changes: batches whose current record names a transaction the chain does not hold
   * in that block are added to `relost`, newest first, down to the first record the chain agrees
   * with. A chain loses anchors newest first (a reorg, a node restored from a snapshot), so this
   * finds what an earlier run that sent lost batches again stopped before recording (a crash after
   * the send, a term that ended), and anchors a reorg put in other blocks while this one ran (the
   * same transaction mined again before a round looked: nothing else of the chain differs). One
   * receipt read when the newest record holds, as it mostly does.
   */
  async function checkNewestRecords(stream: string, sealed: readonly SealedBatch[], common: number, anchoredAt: number): Promise<void> {
    const current = await log.currentAnchors(stream);
    for (let id = common - 1; id >= 0; id--) {
      const a = current[id];
      const receipt = await provider.getTransactionReceipt(a.txHash);
      if (receipt && receipt.blockNumber === a.blockNumber && receipt.status === 1) break;
      // Not found by hash (a node that keeps no index of old transactions): the contract's log says.
      const onChain = await anchorLog(sealed[id]);
      if (!onChain) {
        // Neither the receipt nor the log, the contract agreeing (anchorLog checked): a load-balanced
        // RPC whose backend has the contract's state but not yet the anchor just mined. Checked
        // again next round (checkedNewest left unset); a tamper code only once it lasts.
        if (!receipt && stillUnseen(stream, a)) return;
        throw new AnchorMismatchError(id, receipt ? LOG_NOT_FOUND : `${LOG_NOT_FOUND}: neither transaction ${a.txHash}'s receipt nor its log found by the RPC, ${UNSEEN_ANCHOR_ROUNDS} rounds running`);
      }
      if (onChain.hash.toLowerCase() === a.txHash && onChain.blockNumber === a.blockNumber) break;
      if (relost?.stream !== stream) relost = { stream, ids: new Set() };
      relost.ids.add(id);
    }
    unseen = undefined;
    checkedNewest = { stream, batchId: common - 1, anchoredAt };
  }

  /** The record checkNewestRecords found neither by receipt nor by log, and how many rounds running. */
  let unseen: { stream: string; txHash: string; rounds: number } | undefined;
  /**
   * Whether the check of record `a`, which the RPC finds neither by receipt nor by log, waits for
   * the next round: true for its first UNSEEN_ANCHOR_ROUNDS - 1 rounds running (said from the second).
   */
  function stillUnseen(stream: string, a: { batchId: number; txHash: string }): boolean {
    unseen = unseen?.stream === stream && unseen.txHash === a.txHash ? { ...unseen, rounds: unseen.rounds + 1 } : { stream, txHash: a.txHash, rounds: 1 };
    if (unseen.rounds >= UNSEEN_ANCHOR_ROUNDS) return false;
    if (unseen.rounds > 1) {
      opts.log?.(
        `anchorer: batch ${a.batchId}'s anchor transaction ${a.txHash} is not found by the RPC (no receipt, no BatchAnchored log) although the contract holds its root and range, for ${unseen.rounds} rounds: a load-balanced RPC whose backends lag? checked again next round, ANCHOR_MISMATCH at round ${UNSEEN_ANCHOR_ROUNDS}`,
      );
    }
    return true;
  }

  /** Look up the anchor on chain of each lost batch below `deepNext` (confirmed on chain) and record it if it moved. */
  async function relocate(stream: string, sealed: readonly SealedBatch[], deepNext: number): Promise<void> {
    if (relost?.stream !== stream) return;
    const t = await target();
    for (const id of [...relost.ids].sort((x, y) => x - y)) {
      if (id >= deepNext || id >= sealed.length) continue;
      const b = sealed[id];
      const r = await anchorOnChain(b);
      const data: BatchAnchoredData = {
        batchId: b.batchId, firstSeq: b.firstSeq, lastSeq: b.lastSeq, root: b.root, chainId: t.chainId, contract: t.contract,
        txHash: r.hash.toLowerCase(), blockNumber: r.blockNumber, gasUsed: Number(r.gasUsed),
      };
      await reanchored(stream, data);
    }
    if (relost.ids.size === 0) relost = undefined;
  }

  /** The anchorer account's transaction count as of the newest block and with its pending transactions. */
  async function accountCounts(): Promise<AccountCounts> {
    const me = signer().address;
    const [latest, pending] = await Promise.all([provider.getTransactionCount(me, 'latest'), provider.getTransactionCount(me, 'pending')]);
    return { latest, pending };
  }

  /** Wait until the account has no transaction pending; `first`: its counts read this round already, taken as the first poll's. */
  async function waitForPendingTransactions(first?: AccountCounts): Promise<void> {
    const me = signer().address;
    const poll = opts.pollIntervalMs ?? 200;
    // As long as 600 polls took (2 minutes by default), the polls spaced out from pollIntervalMs to
    // PENDING_POLL_MAX_MS: an earlier run's anchor stuck in a fee spike holds every round, and a poll
    // every 200 ms was four requests (two counts, each after ethers' eth_chainId) 20 times a second.
    const until = performance.now() + 600 * poll;
    for (let delay = poll; ; delay = Math.min(delay * 2, Math.max(poll, PENDING_POLL_MAX_MS))) {
      const { latest, pending } = first ?? (await accountCounts());
      first = undefined;
      if (pending === latest) {
        nonce = latest;
        nonceFresh = true;
        return;
      }
      // A stopped anchorer (shutdown, a term that ended) waits no more: the next one waits again.
      if (stopped) throw new AnchorerStoppedError(`stopped while earlier transactions of the anchorer account ${me} were still pending (nonces ${latest}..${pending - 1})`);
      if (performance.now() >= until) break;
      await pause(Math.min(delay, Math.max(0, until - performance.now())));
    }
    const { latest, pending } = await accountCounts();
    throw new AnchorDelayedError(undefined, `earlier transactions of the anchorer account ${me} are still pending (nonces ${latest}..${pending - 1}): anchoring waits for them to be mined or dropped (fees too low for the chain now? replace them with higher fees)`);
  }

  async function send(b: SealedBatch): Promise<void> {
    // Our counter may lag the chain: another sender with this key took the nonce meanwhile, and
    // sending on it would replace their pending transaction (or fail as underpriced). So the
    // pending count is read before every send: by waitForPendingTransactions at the start of the
    // round when there is no counter (it just read it), else here.
    if (nonce === undefined) await waitForPendingTransactions();
    else if (!nonceFresh) nonce = Math.max(nonce, await provider.getTransactionCount(signer().address, 'pending'));
    nonceFresh = false;
    const n = nonce!;
    await opts.beforeSend?.();
    await opts.faults?.('before-send');
    const stream = anchorStreamName(await target());
    let sent = true;
    inFlight = await contract.anchor(b.batchId, b.firstSeq, b.lastSeq, b.root, { nonce: n, ...(await cappedMarketFees()) }).then(
      (tx: TransactionResponse): InFlight => ({ b, n, last: tx, fees: feesOf(tx), settled: false, stream }),
      async (err: unknown) => {
        if (!isError(err, 'REPLACEMENT_UNDERPRICED')) throw await sendError(b, err);
        sent = false;
        return heldNonce(b, n, stream);
      },
    );
    nonce = n + 1;
    if (sent) await opts.faults?.('after-send');
    await seeThrough(inFlight!);
  }

  /**
   * What a send of `b` refused as underpriced on nonce `n` meets: a transaction of the account holds
   * the nonce although the node does not count it as pending (Hardhat leaves one whose fee cap is
   * under the base fee out), so the round's start did not ask the pool. Asked now: an earlier run's
   * anchor of `b` there is taken on (pendingAnchor). Else ANCHOR_DELAYED: a wait, not a fault, the
   * next rounds retry.
   */
  async function heldNonce(b: SealedBatch, n: number, stream: string): Promise<InFlight> {
    const found = await pendingAnchor(stream);
    if (found && found.b.batchId === b.batchId && found.n === n) return found;
    throw new AnchorDelayedError(
      b.batchId,
      `anchor(${b.batchId}) on nonce ${n} was refused as underpriced: a transaction of the anchorer account ${signer().address.toLowerCase()} holds that nonce although the node does not count it as pending (an earlier run's, stuck below the base fee?) and offers about as much; anchoring waits for it to be mined or dropped`,
    );
  }

  /**
   * BatchAnchorSent for `f`'s latest send (replacing `replaces`): the next run or leader takes it on
   * (takeOn). Written for a late transaction, a stop while waiting for one, and every send again,
   * not for every anchor: most are mined within txTimeoutMs, and one event more per batch would
   * seal the audit's own bookkeeping for ever with BATCH_MAX_EVENTS=3.
   */
  async function recordSent(f: InFlight, replaces?: string): Promise<void> {
    const t = await target();
    const fees = 'gasPrice' in f.fees ? { gasPrice: String(f.fees.gasPrice) } : { maxFeePerGas: String(f.fees.maxFeePerGas), maxPriorityFeePerGas: String(f.fees.maxPriorityFeePerGas) };
    await recordAnchorSent(store, f.stream, {
      batchId: f.b.batchId, firstSeq: f.b.firstSeq, lastSeq: f.b.lastSeq, root: f.b.root, chainId: t.chainId, contract: t.contract,
      account: signer().address.toLowerCase(), nonce: f.n, txHash: f.last.hash.toLowerCase(), ...fees,
      ...(replaces ? { replacesTxHash: replaces.toLowerCase() } : {}),
    });
    f.recorded = true;
  }

  /**
   * recordSent() for a transaction not mined yet. One mined and waiting for its CHAIN_CONFIRMATIONS
   * is not stuck (takeOn() would leave it, its nonce used): recorded, it added a BatchAnchorSent to
   * every batch wherever the confirmations take longer than txTimeoutMs (16 on Ethereum mainnet),
   * and with BATCH_MAX_EVENTS=3 each batch's BatchSealed, BatchAnchorSent and BatchAnchored filled
   * the next batch: sealed and anchored, a transaction each, for ever.
   */
  async function recordIfPending(f: InFlight): Promise<void> {
    if (f.recorded) return;
    // A count that cannot be read (a round called on its own after stop() destroyed the provider) records it: takeOn() checks again.
    const latest = await provider.getTransactionCount(signer().address, 'latest').catch(() => undefined);
    if (latest !== undefined && latest > f.n) return;
    await recordSent(f);
  }

  /**
   * The anchor transaction an earlier run or leader term recorded as on the way (BatchAnchorSent)
   * and that is still pending on its nonce, as this run's own: waited for, and sent again with
   * higher fees while it stays stuck (before, only waited for: a fee spike held it, and every anchor
   * after it, as long as it lasted). Not one of another account (a rotated key), of a batch already
   * recorded, on a nonce already used, or one the node no longer knows (its nonce is free: the
   * round sends the batch anew).
   */
  async function takeOn(stream: string): Promise<InFlight | undefined> {
    const sent = await lastAnchorSent(store, stream);
    if (!sent || sent.account !== signer().address.toLowerCase()) return undefined;
    const [sealed, recorded] = await Promise.all([log.sealedBatches(), log.anchorRecords(stream)]);
    const b = sealed[sent.batchId];
    if (!b || b.root !== sent.root || sent.batchId < recorded.length) return undefined;
    // Read before the nonce: a transaction mined on it since is in this block or a later one.
    const head = await provider.getBlockNumber();
    const [latest, tx] = await Promise.all([provider.getTransactionCount(signer().address, 'latest'), provider.getTransaction(sent.txHash)]);
    if (latest > sent.nonce || !tx) return undefined;
    opts.log?.(`anchorer: taking on anchor(${b.batchId}) transaction ${sent.txHash} on nonce ${sent.nonce}, sent by an earlier run and not mined yet (BatchAnchorSent): waited for, and sent again with higher fees while it stays stuck`);
    // Read back from the node, a transaction gives ethers no block to look for its replacement
    // from: one mined instead on its nonce (an operator cancelling it) left its wait() to time out
    // for ever, unreported (the nonce used, its receipt none). From `head`, mined() is told.
    return { b, n: sent.nonce, last: tx.replaceableTransaction(head), fees: feesOf(tx), settled: false, stream, recorded: true };
  }

  /**
   * An anchor transaction of this account pending in the node's pool on the account's next nonce
   * that no BatchAnchorSent names (a run killed within txTimeoutMs of its send records none), as
   * this run's own: waited for, and sent again with higher fees while it stays stuck. Taken on only
   * when it is anchor() on this contract of a sealed batch not recorded yet, with that batch's range
   * and root: the call this run would send itself, so raising it replaces nobody else's transaction.
   * Read from eth_pendingTransactions, which Hardhat and Anvil answer with every pending transaction;
   * a node that answers with its own accounts' only (geth) or not at all (most hosted RPCs) gives
   * none, and the transaction is waited for as before. Asked only when the account has one pending
   * (tick) or a send on its nonce is refused as underpriced (heldNonce). Nothing is written at a send: one event more
   * per batch sealed the audit's own records for ever with BATCH_MAX_EVENTS=3 (recordIfPending).
   */
  async function pendingAnchor(stream: string): Promise<InFlight | undefined> {
    const pool: unknown = await provider.send('eth_pendingTransactions', []).catch((err: unknown) => {
      // Said once per anchorer, and only for the node's own refusal: one that did not answer fails the round's next read anyway.
      const refused = poolRefusal(err);
      if (refused !== undefined && !poolRefusalSaid) {
        poolRefusalSaid = true;
        opts.log?.(`anchorer: the node does not list its pool (eth_pendingTransactions refused: ${refused}): an anchor transaction an earlier run sent and stopped before recording is waited for, not taken on (docs/proofs.md §6)`);
      }
      return undefined;
    });
    if (!Array.isArray(pool) || pool.length === 0) return undefined;
    const me = signer().address.toLowerCase();
    // Read before the nonce: a transaction mined on it since is in this block or a later one (as takeOn()).
    const head = await provider.getBlockNumber();
    const [latest, sealed, recorded] = await Promise.all([provider.getTransactionCount(me, 'latest'), log.sealedBatches(), log.anchorRecords(stream)]);
    for (const t of pool as ({ hash?: unknown; from?: unknown; to?: unknown; nonce?: unknown; input?: unknown } | null)[]) {
      // What is not a transaction object (a node of another kind) is passed over, not a TypeError failing every first round.
      if (typeof t !== 'object' || t === null) continue;
      if (String(t.from).toLowerCase() !== me || String(t.to).toLowerCase() !== opts.contract.toLowerCase() || Number(t.nonce) !== latest || typeof t.input !== 'string') continue;
      const call = (() => {
        try {
          return contract.interface.parseTransaction({ data: t.input as string });
        } catch {
          return null;
        }
      })();
      const id = Number(call?.args[0]);
      const b = call?.name === 'anchor' && Number.isSafeInteger(id) && id >= recorded.length ? sealed[id] : undefined;
      if (!b || Number(call!.args[1]) !== b.firstSeq || Number(call!.args[2]) !== b.lastSeq || call!.args[3] !== b.root) continue;
      const tx = await provider.getTransaction(String(t.hash));
      if (!tx) return undefined;
      opts.log?.(`anchorer: taking on anchor(${b.batchId}) transaction ${tx.hash} on nonce ${latest}, pending in the node's pool from the anchorer account with no BatchAnchorSent (sent by an earlier run stopped soon after): waited for, and sent again with higher fees while it stays stuck`);
      return { b, n: latest, last: tx.replaceableTransaction(head), fees: feesOf(tx), settled: false, stream };
    }
    return undefined;
  }

  /** Whether this anchorer said that the node refuses eth_pendingTransactions. */
  let poolRefusalSaid = false;

  /** Wait for `f` (sending it again as mined() does) and record its batch; `f` is kept for the next round unless its outcome is known. */
  async function seeThrough(f: InFlight): Promise<void> {
    let receipt: TransactionReceipt;
    try {
      receipt = await mined(f);
    } catch (err) {
      if (f.settled && inFlight === f) inFlight = undefined;
      throw err;
    }
    if (inFlight === f) inFlight = undefined;
    await opts.faults?.('after-confirm');
    await record(f.b, receipt);
    await reportFunds(receipt.gasUsed * receipt.gasPrice);
  }

  /** What the last anchor this process saw mined cost. */
  let lastAnchorCostWei: bigint | undefined;
  /** onFunds with the balance read now; a balance that cannot be read fails nothing (the anchor is recorded), the next anchor reads it again. */
  async function reportFunds(cost?: bigint, balance?: bigint): Promise<void> {
    if (!opts.onFunds) return;
    lastAnchorCostWei = cost ?? lastAnchorCostWei;
    const account = signer().address;
    const balanceWei = balance ?? (await provider.getBalance(account).catch(() => undefined));
    if (balanceWei !== undefined) opts.onFunds({ account: account.toLowerCase(), balanceWei, lastAnchorCostWei });
  }

  /** With a fee cap: the market's fees, none above the cap (else ethers' own, unchanged). */
  async function cappedMarketFees(): Promise<Fees | Record<string, never>> {
    if (opts.maxFeePerGas === undefined) return {};
    return capFees(marketFees(await provider.getFeeData()), opts.maxFeePerGas);
  }

  /**
   * The receipt of batch `b`'s anchor on nonce `n`. A transaction not mined within txTimeoutMs
   * (the node dropped it, or the base fee rose above what it offers) is sent again on the same
   * nonce, same call, with fees raised past the node's replacement bar and at least to the
   * current market: whichever of the sends is mined anchors the batch, and the nonce is never
   * left to a transaction nobody will mine (a stuck nonce holds up every later anchor).
   */
  async function mined(f: InFlight): Promise<TransactionReceipt> {
    const { b, n } = f;
    let last = f.last;
    let fees = f.fees;
    /** An outcome of the transaction itself: thrown, and not waited for again. */
    const settled = (err: Error): Error => ((f.settled = true), err);
    for (;;) {
      try {
        // A stopped anchorer (shutdown, a term that ended) waits no more: the transaction is on its
        // way, and the next run finds it (pending, or on chain once CHAIN_CONFIRMATIONS deep).
        const receipt = (await Promise.race([last.wait(confirmations, opts.txTimeoutMs ?? 180_000), stopSignal])) as TransactionReceipt | null | typeof STOPPED;
        if (receipt === STOPPED) {
          // Recorded for the next run or leader, which takes it on (the stop may be a term that ended).
          await recordIfPending(f).catch(() => undefined);
          throw new AnchorerStoppedError(`anchor(${b.batchId}) transaction ${last.hash} ${confirmations === 1 ? 'not mined yet' : `not ${confirmations} blocks deep yet`}; stopped: the next run finds it`);
        }
        if (!receipt || receipt.status !== 1) throw settled(new Error(`anchor(${b.batchId}) transaction ${last.hash} failed`));
        return receipt;
      } catch (err) {
        // An earlier send of the same call was mined instead (ethers: "repriced"): as good.
        if (isError(err, 'TRANSACTION_REPLACED') && err.reason === 'repriced') {
          if (err.receipt.status === 1) return err.receipt;
          throw settled(new Error(`anchor(${b.batchId}) transaction ${err.hash} reverted on chain (another anchorer sent the batch first, or the role was revoked)`, { cause: err }));
        }
        if (isError(err, 'TRANSACTION_REPLACED')) throw settled(new Error(`anchor(${b.batchId}) on nonce ${n} was replaced by transaction ${err.hash}, another call sent with the anchorer's key`, { cause: err }));
        // A revert is the receipt's (ethers' checkReceipt); an RPC refusing the receipt read is not one.
        if (isError(err, 'CALL_EXCEPTION') && !rpcRefusal(err)) throw settled(new Error(`anchor(${b.batchId}) transaction ${last.hash} reverted on chain (another anchorer sent the batch first, or the role was revoked)`, { cause: err }));
        if (!isError(err, 'TIMEOUT')) throw err;
      }
      // A stopped anchorer sends nothing more; what it sent is found on chain by the next one.
      if (stopped) {
        await recordIfPending(f);
        throw new AnchorerStoppedError(`anchor(${b.batchId}) transaction ${last.hash} not mined yet; stopped before sending it again`);
      }
      const [known, market, latest] = await Promise.all([provider.getTransaction(last.hash), provider.getFeeData(), provider.getTransactionCount(signer().address, 'latest')]);
      // Late and not mined: recorded, so that a restart or a new leader takes it on rather than only waiting for it.
      if (!f.recorded && latest <= n) await recordSent(f);
      // Sent again only when that can help: the node dropped it, or the market outran its fees.
      // Not behind a lower nonce still pending (higher fees on ours do not get that one mined),
      // nor while it offers the market's fees: each raise compounds, so raising on every round
      // of a long wait would end up paying any price.
      const waitMs = opts.txTimeoutMs ?? 180_000;
      // The nonce is used: mined, awaiting its confirmations (or replaced: the wait says which).
      if (latest > n) {
        const [receipt, head] = await Promise.all([provider.getTransactionReceipt(last.hash), provider.getBlockNumber()]);
        const short = receipt && shortOfConfirmations({ batchId: b.batchId, hash: last.hash, blockNumber: receipt.blockNumber, head, confirmations, waitMs });
        if (short) opts.onError?.(new AnchorDelayedError(b.batchId, short));
        continue;
      }
      if (latest < n) {
        // Gone from a node whose account is behind its nonce: nothing can be waited for there (the
        // node lost its state, or a reorg took the account's earlier transactions). The next round
        // reads the chain (ANCHORS_LOST) and sends on the account's nonce.
        if (!known) throw settled(new Error(`anchor(${b.batchId}) transaction ${last.hash} is gone and its nonce ${n} is ahead of the anchorer account's next, ${latest}: the chain lost it (a node that lost its state?); the next round reads the chain again`));
        opts.onError?.(new AnchorDelayedError(b.batchId, `anchor(${b.batchId}) on nonce ${n} is not mined within ${waitMs} ms: it waits behind nonce ${latest} of the anchorer account ${signer().address}, still pending (sent by someone else with the key?)`));
        continue;
      }
      if (known && !belowMarket(feesOf(last), market)) {
        opts.onError?.(new AnchorDelayedError(b.batchId, `anchor(${b.batchId}) transaction ${last.hash} is not mined within ${waitMs} ms although it offers the market's fees (${describeFees(feesOf(last))}): still waiting`));
        continue;
      }
      const raised = opts.maxFeePerGas === undefined ? raisedFees(fees, market) : capFees(raisedFees(fees, market), opts.maxFeePerGas);
      // Nodes refuse a replacement that does not raise every fee (by 10%): at the cap, only the
      // market can move. A transaction the node dropped replaces nothing: sent again at the cap.
      if (opts.maxFeePerGas !== undefined && known && !raisesBoth(fees, raised)) {
        opts.onError?.(new AnchorDelayedError(b.batchId, `anchor(${b.batchId}) transaction ${last.hash} is not mined within ${waitMs} ms: it offers the fee cap (ANCHOR_MAX_FEE_GWEI, ${formatGwei(opts.maxFeePerGas)} gwei) and the market asks more: waiting for it to fall (at the fee cap)`));
        continue;
      }
      await opts.beforeSend?.();
      fees = raised;
      /** The send this one replaced, once it is sent: recorded below, outside the send's own error handling. */
      let resent: string | undefined;
      try {
        last = (await contract.anchor(b.batchId, b.firstSeq, b.lastSeq, b.root, { nonce: n, ...fees })) as TransactionResponse;
        // What the next round resumes from, should this one fail: the send on the nonce, and the fees the next raise must clear.
        resent = f.last.hash;
        Object.assign(f, { last, fees });
        opts.onError?.(new AnchorDelayedError(b.batchId, `anchor(${b.batchId}) transaction not mined within ${waitMs} ms: sent again on nonce ${n} as ${last.hash} ${known ? 'with higher fees' : 'as the node no longer knows it'} (${describeFees(fees)})`));
      } catch (err) {
        // Mined meanwhile (the nonce is used, or the call now reverts as the batch is anchored):
        // the wait above finds the receipt. Refused as underpriced: the next round raises more.
        if ((await provider.getTransactionCount(signer().address, 'latest')) <= n && !/underpriced|replacement|fee too low|already known/i.test(String((err as Error).message))) {
          const refused = await sendError(b, err);
          // A revert with the nonce still free: the call cannot succeed now (the batch anchored by
          // another key, the role revoked), and a send of it mined later would revert too. Not kept:
          // the next round reads the chain, where it was waited for and sent again, reverting, for ever.
          if (isError(err, 'CALL_EXCEPTION') && !rpcRefusal(err)) f.settled = true;
          throw refused;
        }
      }
      if (resent) await recordSent(f, resent);
    }
  }

  /** What a refused anchor() send says to an operator: the custom error of a revert, or an account that cannot pay. */
  async function sendError(b: SealedBatch, err: unknown): Promise<unknown> {
    if (isInsufficientFunds(err)) {
      const [balance, t] = await Promise.all([provider.getBalance(signer().address), target()]).catch(() => [undefined, undefined] as const);
      if (balance !== undefined) await reportFunds(undefined, balance);
      if (balance !== undefined && t) return new AnchorerNoFundsError(signer().address.toLowerCase(), t.chainId, balance, b.batchId, err);
    }
    return namedRevert(contract, b.batchId, err);
  }

  /** An error of a round or a query as reported: a chain id changed under the provider, an RPC refusing calls or not answering, named. */
  function explained(err: unknown): unknown {
    return chainRpcProblem(chainChangedError(err, opts.chainId), opts.rpcUrl);
  }

  /** When (monotonic ms) a round last read the chain, for `idle` rounds. */
  let chainReadAt = -Infinity;

  async function tick(idle = false): Promise<number> {
    // Before any chain call: a process without the key (not running the anchorer role) anchors nothing.
    signer();
    if (idle && !inFlight && !relost && resolvedTarget && performance.now() - chainReadAt < (opts.idleChainCheckMs ?? 30_000)) {
      const recorded = (await log.anchorRecords(anchorStreamName(resolvedTarget))).length;
      if (recorded >= (await log.sealedBatches()).length) return 0;
    }
    chainReadAt = performance.now();
    // A count read by an earlier round is stale: someone else with the key may have sent since.
    nonceFresh = false;
    // Our own transaction of a round that failed waiting for it: waited for (and sent again) first.
    let resumed = 0;
    // Not on a chain restarted with a new genesis since (a dev chain, a reset testnet): the
    // transaction is not there, and sending it again there would revert every round.
    if (inFlight && anchorStreamName(await target(0)) !== inFlight.stream) inFlight = undefined;
    // A run's first round (and one after a failure, which leaves no counter): an earlier run's late anchor is taken on.
    /** The account's counts read for the pool's gate, which waitForPendingTransactions reads first: no request more. */
    let counts: AccountCounts | undefined;
    if (!inFlight && nonce === undefined) {
      const stream = anchorStreamName(await target());
      inFlight = await takeOn(stream);
      // Else one it did not record (killed soon after the send), found in the node's pool. Asked only
      // when the account has a transaction pending: else none of ours is there to take on, and a node
      // may answer with its whole pool, an RPC over its rate limit (HTTP 429) have ethers retry for
      // up to 30 s. One the node leaves out of the count (Hardhat: under the base fee) is looked for
      // when the send on its nonce is refused as underpriced (heldNonce).
      if (!inFlight) {
        counts = await accountCounts();
        if (counts.pending > counts.latest) inFlight = await pendingAnchor(stream);
      }
    }
    if (inFlight) {
      await seeThrough(inFlight);
      resumed = 1;
      counts = undefined;
    }
    // A transaction of an earlier run (or term) still pending may be anchoring the next batch:
    // waited out before the contract is read, so that batch is found anchored, not sent again.
    if (nonce === undefined) await waitForPendingTransactions(counts);
    let stream = anchorStreamName(await target());
    const sealed = await log.sealedBatches();
    let logNext = (await log.anchorRecords(stream)).length;
    let chainNext = Number(await contract.nextBatchId());
    if (chainNext < logNext) {
      // The chain no longer has anchors this deployment's stream recorded. A node restarted with
      // a new genesis (and the contract redeployed at the same address) is a new deployment: its
      // own stream, every batch anchored again. Same genesis: a reorg deeper than the
      // confirmations or a node that lost its state; the roots are still ours, so send them again
      // (each one's new anchor is recorded as BatchReanchored). Either way our cached nonce is stale.
      nonce = undefined;
      resolvedTarget = undefined;
      stream = anchorStreamName(await target());
      logNext = (await log.anchorRecords(stream)).length;
      if (chainNext < logNext) {
        // Their records name transactions the chain no longer has in those blocks: each batch's
        // anchor on chain once it is there again is recorded (BatchReanchored), sent by this
        // process or not. Kept across rounds of this process only (a restart meanwhile: docs/proofs.md §6).
        const ids = relost?.stream === stream ? relost.ids : new Set<number>();
        for (let id = chainNext; id < logNext; id++) ids.add(id);
        relost = { stream, ids };
        // A reorg puts the lost anchors' transactions back in the mempool: one mined now anchors
        // its batch, so the chain is read again once none is pending (sent from the count read
        // before, the next anchor reverted AuditAnchorBatchOutOfOrder).
        await waitForPendingTransactions().catch((err: unknown) => {
          // Not mined while the round waits (ANCHOR_DELAYED): the chain lost anchors all the same.
          if (!(err instanceof AnchorerStoppedError)) opts.onError?.(new AnchorsLostError(chainNext, logNext));
          throw err;
        });
        chainNext = Number(await contract.nextBatchId());
      }
      if (chainNext < logNext) opts.onError?.(new AnchorsLostError(chainNext, logNext));
    }
    // What both sides hold must agree, or every proof of the disagreeing batches fails: checking
    // the newest common batch each tick catches a contract that someone else anchored into.
    if (chainNext === 0 && logNext === 0 && sealed.length > 0 && !announced.has(stream) && (await log.anchoredElsewhere(stream))) {
      // Every batch goes on chain again: a restarted embedded chain at each start, a reset testnet,
      // or ANCHOR_CONTRACT changed. Proofs issued before keep naming the old deployment.
      announced.add(stream);
      const t = await target();
      opts.log?.(
        `anchorer: AuditAnchor ${t.contract} on chain ${t.chainId} (genesis ${t.genesisHash.slice(0, 18)}…) has none of the ${sealed.length} sealed batches, which earlier deployments hold: ` +
          'a new deployment (a chain restarted with a new genesis, or a new contract); anchoring them all again',
      );
    }
    const common = Math.min(chainNext, logNext, sealed.length);
    const newestAt = common > 0 ? await assertChainAgrees(sealed[common - 1]) : 0;
    // Batches the chain has but the log lacks (a previous run's transaction, mined after it
    // stopped) count as anchored only CHAIN_CONFIRMATIONS deep, as those this run sends: a
    // shallower one may still be reorged out, and its record would name a block that is gone.
    const confirmed = logNext < chainNext ? await confirmedNextBatchId(chainNext) : { next: chainNext };
    for (; logNext < confirmed.next && logNext < sealed.length; logNext++) await recover(sealed[logNext]);
    // Nothing is sent past a batch not recorded yet: a later round records it once deep enough.
    if (logNext < Math.min(chainNext, sealed.length)) {
      reportShallow(logNext, confirmed.head);
      return resumed;
    }
    shallow = undefined;
    const checked = checkedNewest?.stream === stream && checkedNewest.batchId === common - 1 && checkedNewest.anchoredAt === newestAt;
    if (!checked && common > 0) await checkNewestRecords(stream, sealed, common, newestAt);
    // Lost batches back on chain, not by a send of this round: their anchor now recorded.
    if (relost?.stream === stream) await relocate(stream, sealed, Math.min(chainNext, (await confirmedNextBatchId(chainNext)).next));
    let anchored = resumed;
    // A stopped anchorer (a term that ended) sends nothing more, even in the middle of a backlog.
    for (let id = chainNext; id < sealed.length && !stopped; id++) {
      await send(sealed[id]);
      anchored++;
    }
    return anchored;
  }

  /** nextBatchId() as of the newest block with `confirmations` blocks (the head itself when 1), and the head read. */
  async function confirmedNextBatchId(chainNext: number): Promise<{ next: number; head?: number }> {
    if (confirmations === 1) return { next: chainNext };
    const head = await provider.getBlockNumber();
    const deep = head - confirmations + 1;
    // Before the contract existed there is nothing to read: nothing is that deep.
    if (deep < 0 || (await provider.getCode(opts.contract, deep)) === '0x') return { next: 0, head };
    return { next: Number(await contract.nextBatchId({ blockTag: deep })), head };
  }

  /** The batch of an earlier run found on chain and not deep enough yet, since when, and the head then. */
  let shallow: { batchId: number; head?: number; at: number } | undefined;
  /**
   * Said every txTimeoutMs while batch `batchId` waits for its confirmations, as mined() says of
   * the anchorer's own transaction: on a node that mines only for transactions they never come.
   */
  function reportShallow(batchId: number, head: number | undefined): void {
    const now = performance.now();
    const waitMs = opts.txTimeoutMs ?? 180_000;
    if (shallow?.batchId !== batchId) shallow = { batchId, head, at: now };
    if (now - shallow.at < waitMs) return;
    const why = head === shallow.head ? `: no block came for ${waitMs} ms (a node that mines only for transactions?)` : '';
    opts.onError?.(new AnchorDelayedError(batchId, `anchor(${batchId}) is on chain (sent by an earlier run) but not yet ${confirmations} blocks deep (CHAIN_CONFIRMATIONS), head block ${head}${why}; recorded once it is`));
    shallow = { batchId, head, at: now };
  }

  /** Anchor streams whose new deployment was logged (once each). */
  const announced = new Set<string>();
  let stopped = false;
  let onStop!: () => void;
  /** Settles (with STOPPED) when stop() is called: what waits on the chain races it. */
  const stopSignal = new Promise<typeof STOPPED>((r) => (onStop = () => r(STOPPED)));
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  /** Ends of the pauses under way, called by stop(): a wait between polls, up to seconds long, does not hold a shutdown. */
  const pauses = new Set<() => void>();
  function pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const end = () => (clearTimeout(timer), pauses.delete(end), resolve());
      const timer = setTimeout(end, ms);
      pauses.add(end);
    });
  }

  async function run(): Promise<void> {
    const min = opts.minBackoffMs ?? 250;
    const max = opts.maxBackoffMs ?? 30_000;
    let backoff = 0;
    while (!stopped) {
      let delay = opts.pollIntervalMs ?? 200;
      try {
        // Rounds that only find everything recorded read the chain every idleChainCheckMs, not every poll.
        await tick(backoff === 0);
        backoff = 0;
      } catch (err) {
        // Stopping (a drain, a term that ended) is no fault: said, not reported (it counted INTERNAL).
        if (err instanceof AnchorerStoppedError) opts.log?.(`anchorer: ${err.message}`);
        else opts.onError?.(explained(err));
        // The nonce may be stale after any failure (a send that did or did not reach the node).
        nonce = undefined;
        backoff = Math.min(max, Math.max(min, backoff * 2));
        delay = backoff;
      }
      if (!stopped) await new Promise<void>((r) => { wake = r; setTimeout(r, delay); });
    }
  }

  return {
    tick: async () => {
      try {
        return await tick();
      } catch (err) {
        nonce = undefined;
        throw explained(err);
      }
    },
    start() {
      signer();
      loop ??= run();
    },
    async stop() {
      stopped = true;
      onStop();
      wake?.();
      for (const end of pauses) end();
      await loop;
      provider.destroy();
    },
    target,
    startedOn: () => firstChain.id,
    anchorStream: async () => anchorStreamName(await queryTarget().catch((err: unknown) => Promise.reject(explained(err)))),
  };
}

const STOPPED = Symbol('stopped');

/** What ANCHOR_MISMATCH says of a batch the contract holds whose BatchAnchored log the RPC does not find. */
const LOG_NOT_FOUND = 'anchored on chain but its BatchAnchored log was not found';

/**
 * Rounds running (each one that reads the chain: every idleChainCheckMs, 30 s, while idle; a round
 * that records a newer batch starts again from its record) in which a record's transaction has
 * neither receipt nor log, the contract agreeing, before ANCHOR_MISMATCH: a load-balanced RPC's
 * backend catches up with the anchor just mined within seconds, not a minute.
 */
const UNSEEN_ANCHOR_ROUNDS = 3;

/** What a stopped anchorer throws from a wait it gives up: the next run (or leader) takes the transaction on. */
class AnchorerStoppedError extends Error {}

/** Longest pause between two reads of the account's pending count while a transaction of it is pending (about a block of Ethereum's). */
const PENDING_POLL_MAX_MS = 5000;

/**
 * The revert of anchor() with its custom error decoded from the contract's ABI: ethers leaves a
 * revert met while estimating gas as "unknown custom error" with raw data, which tells an
 * operator nothing (AccessControlUnauthorizedAccount: the key lacks the anchorer role).
 */
function namedRevert(contract: Contract, batchId: number, err: unknown): unknown {
  const data = (err as { data?: unknown }).data;
  if (typeof data !== 'string' || data.length < 10) return err;
  try {
    const e = contract.interface.parseError(data);
    if (!e) return err;
    const reverted = `anchor(${batchId}) reverted with ${e.name}(${e.args.map(String).join(', ')})`;
    if (e.name === 'AccessControlUnauthorizedAccount') {
      // A setting to fix, not an outage: say which key and what to do (CONFIG_INVALID, as for CHAIN_ID).
      const account = String(e.args[0]);
      return new OpenMcpError(
        'CONFIG_INVALID',
        `${reverted}: the anchorer key's account ${account} does not hold the anchorer role of AuditAnchor at ${String(contract.target)}: grantRole(ANCHORER_ROLE, ${account}) from its admin account, or set ANCHORER_PRIVATE_KEY (or ANCHORER_KEYSTORE) to the key that holds it, the deployer's unless contracts deploy had --anchorer (docs/operations.md, "Rotating keys")`,
        { status: 500, cause: err, details: { variable: 'ANCHORER_PRIVATE_KEY' } },
      );
    }
    return new Error(reverted, { cause: err });
  } catch {
    return err;
  }
}

/**
 * The node's refusal of a call in its words, the URL left out: a JSON-RPC error answer (on ethers'
 * error or in its info) or an HTTP error status. Undefined when no node answered (unreachable, timed out).
 */
function poolRefusal(err: unknown): string | undefined {
  type Answer = { error?: { code?: unknown; message?: unknown } };
  const e = (err ?? {}) as Answer & { info?: Answer & { responseStatus?: unknown } };
  for (const a of [e, e.info]) if (a?.error && typeof a.error.code === 'number') return `${a.error.code} ${String(a.error.message).slice(0, 200)}`;
  return e.info?.responseStatus ? `HTTP ${String(e.info.responseStatus)}` : undefined;
}

type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { gasPrice: bigint };

/** An account's transaction count as of the newest block, and with its pending transactions (more: some pending). */
type AccountCounts = { latest: number; pending: number };

/**
 * An anchor transaction being seen through: batch `b` on nonce `n`, its last send and that send's
 * fees, sent into anchor stream `stream` (its chain and genesis); `settled` once its outcome is known.
 */
type InFlight = { b: SealedBatch; n: number; last: TransactionResponse; fees: Fees; settled: boolean; stream: string; recorded?: boolean };

function feesOf(tx: TransactionResponse): Fees {
  return tx.maxFeePerGas != null ? { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas ?? 0n } : { gasPrice: tx.gasPrice };
}

/**
 * Fees for a replacement: each raised by 12.5% (nodes refuse one raised by less than 10%: geth,
 * Hardhat) and to at least the market's now (a spike can outrun several raises).
 */
function raisedFees(prev: Fees, now: FeeData): Fees {
  const up = (x: bigint) => x + x / 8n + 1n;
  const max = (...xs: bigint[]) => xs.reduce((a, x) => (x > a ? x : a));
  if ('gasPrice' in prev) return { gasPrice: max(up(prev.gasPrice), now.gasPrice ?? 0n) };
  const maxPriorityFeePerGas = max(up(prev.maxPriorityFeePerGas), now.maxPriorityFeePerGas ?? 0n);
  return { maxFeePerGas: max(up(prev.maxFeePerGas), now.maxFeePerGas ?? 0n, maxPriorityFeePerGas), maxPriorityFeePerGas };
}

/** Whether the market's fees now are above what `f` offers (a transaction at `f` may never be mined). */
function belowMarket(f: Fees, now: FeeData): boolean {
  if ('gasPrice' in f) return now.gasPrice != null && f.gasPrice < now.gasPrice;
  return (now.maxFeePerGas != null && f.maxFeePerGas < now.maxFeePerGas) || (now.maxPriorityFeePerGas != null && f.maxPriorityFeePerGas < now.maxPriorityFeePerGas);
}

/** The market's fees now, as a transaction would offer them (ethers' own choice: 2 × base fee + tip). */
function marketFees(now: FeeData): Fees {
  if (now.maxFeePerGas != null) return { maxFeePerGas: now.maxFeePerGas, maxPriorityFeePerGas: now.maxPriorityFeePerGas ?? 0n };
  return { gasPrice: now.gasPrice ?? 0n };
}

/** `f` with no fee above `cap` (the tip never above the max fee). */
function capFees(f: Fees, cap: bigint): Fees {
  const min = (a: bigint, b: bigint) => (a < b ? a : b);
  if ('gasPrice' in f) return { gasPrice: min(f.gasPrice, cap) };
  const maxFeePerGas = min(f.maxFeePerGas, cap);
  return { maxFeePerGas, maxPriorityFeePerGas: min(f.maxPriorityFeePerGas, maxFeePerGas) };
}

/** Whether `next` raises every fee of `prev` by the 10% nodes require of a replacement. */
function raisesBoth(prev: Fees, next: Fees): boolean {
  const enough = (a: bigint, b: bigint) => b * 10n >= a * 11n;
  if ('gasPrice' in prev || 'gasPrice' in next) return 'gasPrice' in prev && 'gasPrice' in next && enough(prev.gasPrice, next.gasPrice);
  return enough(prev.maxFeePerGas, next.maxFeePerGas) && enough(prev.maxPriorityFeePerGas, next.maxPriorityFeePerGas);
}

function formatGwei(wei: bigint): string {
  return formatUnits(wei, 'gwei').replace(/\.0$/, '');
}

function describeFees(f: Fees): string {
  return 'gasPrice' in f ? `gas price ${f.gasPrice} wei` : `max fee ${f.maxFeePerGas} wei, priority fee ${f.maxPriorityFeePerGas} wei`;
}

/** Create and start the anchorer loop (retries with backoff while the chain is down). */
export function startAnchorer(store: EventStore, opts: AnchorerOptions, log?: BatchLog): Anchorer {
  const a = createAnchorer(store, opts, log);
  a.start();
  return a;
}
