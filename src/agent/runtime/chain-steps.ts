import type { FunctionFragment } from 'ethers';
import { isHexAddress } from '../../core/address';
import type { Hex } from '../../core/hex';
import { assertContractDeployed, prepareProposal, quoteFees, readContract, signAndSend, waitForTransaction, type ConfirmedTransaction, type SignedTransaction } from '../../web3/contract-calls';
import { NonceManager } from '../../web3/nonce-manager';
import { Web3Error } from '../../web3/web3-error';
import { functionFacts, resolveFunction, type FunctionFacts } from '../../web3/contract-function';
import type { ContractHandle } from '../../web3/chain-registry';
import { amountOf, matchMethodRule } from '../policy/method-rule';
import { AgentError } from '../errors';
import { evaluateContractRead, evaluateToolCall, evaluateTransaction, findContract, type PolicyDecision } from '../policy/evaluate-policy';
import { decisionVersion } from '../policy/policy-hash';
import type { AgentPolicy } from '../policy/policy';
import { proposalHash, type Proposal } from '../policy/proposal';
import { maxNativeCost } from '../policy/native-cost';
import { CacheSpendLedger, utcDay, type SpendLedger } from '../policy/spend-ledger';
import { MemoryCache } from '../../cache/memory';
import type { Cache } from '../../cache/port';
import { withLock } from '../../cache/with-lock';
import { errorCodeOf, WrongExpectedRevisionError } from '../../core/errors';
import { newId } from '../../core/ids';
import type { AgentRuntimeDependencies, AgentRuntimeOptions } from './runtime-deps';
import { callsOf, heldProposal, type TaskView } from './task-view';
import { approvalRequirementChange, type ApprovalRequirementChange } from '../../domain/task/approval-requirement';
import type { StepSpec } from './step-spec';
import { RunInterrupted } from './run-interrupted';
import { cutText, wellFormed } from '../../core/well-formed';

export type ChainStepContext = {
  deps: AgentRuntimeDependencies;
  opts: AgentRuntimeOptions;
  policy: AgentPolicy;
  view(): TaskView;
  now(): Date;
  signal: AbortSignal;
  /** `version` for a type whose later version is written only when needed (default: the latest). */
  append(type: string, data: Record<string, unknown>, version?: number): Promise<void>;
  /** Like `append`, for what was done (a transaction mined): a store failure stops the run to be tried again, never a step failure. */
  appendDone(type: string, data: Record<string, unknown>): Promise<void>;
  /**
   * Decide on the view and append what `decide` gives (nothing when undefined) at that view's
   * revision, with nothing read in between; a conflict re-reads and decides again.
   */
  appendDecided(decide: (v: TaskView) => { type: string; data: Record<string, unknown> } | undefined): Promise<void>;
  /** The policy entry in force, as PolicyEvaluated names it. */
  policyName: string;
  recordPolicy(stepId: string, subject: 'tool' | 'contract-read' | 'transaction', tool: string, d: PolicyDecision, proposalHash?: string): Promise<void>;
  sync(): Promise<TaskView>;
  waitForChange(ms: number): Promise<void>;
  timed<T>(p: Promise<T>): Promise<T>;
};

export type TransactionResult = { chainId: number; txHash: string; blockNumber: number; status: 'success' | 'reverted'; gasUsed: string; proposalHash: string };

const fallbackNonces = new NonceManager();
const cacheNonces = new WeakMap<Cache, NonceManager>();
const fallbackLedgers = new WeakMap<object, SpendLedger>();
const fallbackCaches = new WeakMap<object, Cache>();

/** The runtime's cache (Redis in production; spend locks, and the ledger without `ledger`), else one in memory per runtime. */
function cacheOf(deps: AgentRuntimeDependencies): Cache {
  if (deps.cache) return deps.cache;
  let c = fallbackCaches.get(deps);
  if (!c) fallbackCaches.set(deps, (c = new MemoryCache()));
  return c;
}

/** The runtime's nonces: over its cache when it has one (Redis: shared by replicas), else one manager for the process. */
function noncesOf(deps: AgentRuntimeDependencies): NonceManager {
  if (deps.nonces) return deps.nonces;
  if (!deps.cache) return fallbackNonces;
  let n = cacheNonces.get(deps.cache);
  if (!n) cacheNonces.set(deps.cache, (n = new NonceManager(deps.cache, { logger: deps.logger })));
  return n;
}

function ledgerOf(deps: AgentRuntimeDependencies): SpendLedger {
  if (deps.ledger) return deps.ledger;
  let l = fallbackLedgers.get(deps);
  if (!l) fallbackLedgers.set(deps, (l = new CacheSpendLedger(cacheOf(deps))));
  return l;
}

function chainIdOf(ctx: ChainStepContext, v: unknown): number {
  const reg = ctx.deps.chains!;
  if (v !== undefined) {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new AgentError('TOOL_ARGUMENTS_INVALID', `chainId must be a positive integer, got ${String(v)}`);
    return n;
  }
  if (ctx.view().chainId !== undefined) return ctx.view().chainId!;
  const all = reg.list();
  if (all.length === 1) return all[0].chainId;
  throw new AgentError('TOOL_ARGUMENTS_INVALID', 'chainId is required (several chains are configured)');
}

/** The contract's address: a configured name or address; an unconfigured address passes through for the policy to judge. */
function addressOf(ctx: ChainStepContext, chainId: number, ref: unknown): string {
  if (typeof ref !== 'string' || !ref) throw new AgentError('TOOL_ARGUMENTS_INVALID', 'contract (name or address) is required');
  const reg = ctx.deps.chains!;
  const c = reg.find(chainId, ref);
  if (c) return c.address;
  reg.get(chainId); // CHAIN_NOT_CONFIGURED: nothing passes through to a chain that is not configured
  if (isHexAddress(ref)) return ref.toLowerCase();
  throw new Web3Error('CONTRACT_NOT_CONFIGURED', `contract ${ref} is not configured on chain ${chainId}`);
}

/** A step's function in its contract's ABI, looked up once and handed to every later use. */
type StepFunction = { contract: ContractHandle; fn: FunctionFragment };

/**
 * The function the step names, in the contract as CHAINS_FILE configures it. An ambiguous bare
 * name of an overloaded method throws now, before any policy decision: it is the model's mistake
 * to fix (CONTRACT_METHOD_AMBIGUOUS lists the signatures), not something to record a decision
 * about or to hold for an approver. Other faults (an unconfigured contract, no such method) give
 * undefined and are met again after the policy, so a call to a contract that is not allowlisted
 * is still a recorded denial.
 */
function stepFunction(ctx: ChainStepContext, chainId: number, to: string, method: unknown): StepFunction | undefined {
  const contract = ctx.deps.chains!.find(chainId, to);
  if (!contract) return undefined;
  try {
    return { contract, fn: resolveFunction(contract, String(method ?? '')) };
  } catch (err) {
    if (err instanceof Web3Error && err.code === 'CONTRACT_METHOD_AMBIGUOUS') throw err;
    return undefined;
  }
}

function denied(d: PolicyDecision): AgentError {
  return new AgentError('POLICY_DENIED', `policy rule ${d.rule}: ${d.reason}`, { details: { rule: d.rule } });
}

/**
 * The tool rules again. They were checked when the step started, but a step resumed after a
 * restart (a transaction held for approval) may now run under another policy: nothing new is read
 * or signed unless it still allows the tool (denying chain__send_transaction is an operator's
 * emergency stop). Unchanged, the decision is the one recorded already and is not recorded again.
 */
async function assertToolAllowed(ctx: ChainStepContext, s: StepSpec): Promise<void> {
  const d = evaluateToolCall(ctx.policy, { tool: s.tool, callsInTask: callsOf(ctx.view(), s.tool, s.stepId) });
  if (d.decision === 'allow') return;
  await ctx.recordPolicy(s.stepId, 'tool', s.tool, d);
  throw denied(d);
}

/** chain__read_contract: allowlisted contracts only (deny by default), then eth_call. */
export async function runChainRead(ctx: ChainStepContext, s: StepSpec): Promise<unknown> {
  await assertToolAllowed(ctx, s);
  const chainId = chainIdOf(ctx, s.args.chainId);
  const to = addressOf(ctx, chainId, s.args.contract);
  const target = stepFunction(ctx, chainId, to, s.args.method);
  const d = evaluateContractRead(ctx.policy, chainId, to);
  await ctx.recordPolicy(s.stepId, 'contract-read', s.tool, d);
  if (d.decision !== 'allow') throw denied(d);
  return readContract(ctx.deps.chains!, { chainId, contract: to, method: String(s.args.method ?? ''), args: (s.args.args as unknown[]) ?? [], fn: target?.fn });
}

/** The proposed function in the configured ABI (by its signature; by name for a proposal recorded without one). */
function proposalFunction(ctx: ChainStepContext, p: Proposal): StepFunction {
  const contract = ctx.deps.chains!.contract(ctx.deps.chains!.get(p.chainId), p.to);
  return { contract, fn: resolveFunction(contract, p.signature ?? p.method) };
}

/**
 * The spend meters a proposal counts on: native currency per chain (value and gas), and the amount under the method
 * rule that governs it, metered by that rule's key (`method:<chainId>:<to>:<name or signature>`),
 * read from the argument the rule names for this very function.
 */
function meters(ctx: ChainStepContext, p: Proposal, fn: FunctionFacts): { native: string; method?: { meter: string; amount: bigint } } {
  const contract = findContract(ctx.policy, p.chainId, p.to);
  const match = contract ? matchMethodRule(contract, p, fn) : undefined;
  const amount = match && 'rule' in match ? amountOf(p, match.rule, fn) : undefined;
  return {
    native: `native:${p.chainId}`,
    ...(typeof amount === 'bigint' ? { method: { meter: `method:${p.chainId}:${p.to}:${match!.key}`, amount } } : {}),
  };
}

/**
 * Refuses, recording the denial, a proposal the policy denies whatever its gas and fee: judged at
 * gas 0 and fee 0, before the node is asked to estimate its gas (which would hand the node the
 * denied call, and fail it as "would revert" when the node would also revert it). Sound because
 * every rule is monotone in gas and fee: denied at 0, it is denied at any. An allow or an approval
 * here decides nothing: the proposal is judged whole, with its gas, once prepared.
 */
async function denyWhateverItsGas(ctx: ChainStepContext, s: StepSpec, draft: Proposal, fn: FunctionFacts): Promise<void> {
  const view = ctx.view();
  const ledger = ledgerOf(ctx.deps);
  const agent = spendAgent(ctx);
  const day = utcDay(ctx.now());
  const m = meters(ctx, draft, fn);
  const d = evaluateTransaction(ctx.policy, {
    proposal: draft,
    fn,
    maxFeePerGas: 0n,
    nativeSpentToday: await ledger.spent(view.tenant, agent, m.native, day),
    methodSpentToday: m.method ? await ledger.spent(view.tenant, agent, m.method.meter, day) : 0n,
  });
  if (d.decision !== 'deny') return;
  await ctx.recordPolicy(s.stepId, 'transaction', s.tool, d, proposalHash(draft));
  throw denied(d);
}

/**
 * Whose daily totals: the agent's only when its policy entry names it. Under an entry for every
 * agent ('*') the cap is the tenant's, whatever agentId each submitter chose.
 */
function spendAgent(ctx: ChainStepContext): string {
  return ctx.policy.agent === '*' ? '*' : (ctx.view().agentId ?? '*');
}

/**
 * chain__send_transaction, resumable at every point: a confirmed transaction is returned as
 * recorded; a submitted one is awaited (its raw bytes re-broadcast if the node lost them);
 * a proposal waiting for approval keeps its recorded form (so its hash, and the approval, still
 * match); nothing is signed twice for one step.
 */
export async function runChainTransaction(ctx: ChainStepContext, s: StepSpec): Promise<TransactionResult> {
  const reg = ctx.deps.chains!;
  const view = ctx.view();
  const recorded = view.txs.get(s.stepId);
  if (recorded?.rejected) throw new Web3Error('TX_REJECTED', recorded.rejected.message);
  if (recorded?.submitted) return confirm(ctx, s, recorded.submitted, findHashOf(view, s.stepId));
  await assertToolAllowed(ctx, s);

  const waiting = [...view.approvalRequests.entries()].find(([, r]) => r.stepId === s.stepId);
  let proposal: Proposal;
  let target: StepFunction | undefined;
  if (waiting) {
    proposal = JSON.parse(waiting[1].proposalJson) as Proposal;
  } else {
    const chainId = chainIdOf(ctx, s.args.chainId);
    const to = addressOf(ctx, chainId, s.args.contract);
    target = stepFunction(ctx, chainId, to, s.args.method);
    if (!findContract(ctx.policy, chainId, to)) {
      const d: PolicyDecision = { decision: 'deny', rule: 'contracts.unknown', reason: `contract ${to} on chain ${chainId} is not allowlisted` };
      await ctx.recordPolicy(s.stepId, 'transaction', s.tool, d);
      throw denied(d);
    }
    const judged = target;
    const prepared = await ctx.timed(
      prepareProposal(reg, {
        chainId,
        contract: to,
        method: String(s.args.method ?? ''),
        args: (s.args.args as unknown[]) ?? [],
        value: s.args.value as string | undefined,
        gasLimit: s.args.gasLimit as string | undefined,
        fn: target?.fn,
        // Judged first on what does not depend on gas: a denied call never reaches the node, not even as an estimate.
        ...(judged ? { beforeEstimate: (draft: Proposal) => denyWhateverItsGas(ctx, s, { ...draft, stepId: s.stepId }, functionFacts(judged.contract, judged.fn)) } : {}),
      }),
    );
    proposal = { ...prepared, stepId: s.stepId };
  }
  const hash = proposalHash(proposal);
  const ledger = ledgerOf(ctx.deps);
  const agent = spendAgent(ctx);
  // Prepared just now, the proposal names the step's function; recorded, it is found by its signature.
  const resolved = target ?? proposalFunction(ctx, proposal);
  const fn = functionFacts(resolved.contract, resolved.fn);
  const m = meters(ctx, proposal, fn);
  const evaluate = async (day: string, maxFeePerGas: bigint) =>
    evaluateTransaction(ctx.policy, {
      proposal,
      fn,
      maxFeePerGas,
      nativeSpentToday: await ledger.spent(view.tenant, agent, m.native, day),
      methodSpentToday: m.method ? await ledger.spent(view.tenant, agent, m.method.meter, day) : 0n,
    });
  // Judged at today's fee (whether it fits, whether it waits for a human); quoted again to sign.
  const d = await evaluate(utcDay(ctx.now()), (await ctx.timed(quoteFees(reg, proposal.chainId))).maxFeePerGas);
  const approved = ctx.view().approvals.get(hash) === 'approve';
  // Already approved: the policy said "approval" before; re-recording it would only repeat evidence,
  // unless another version of the entry says it now (a restart with an edited file): then the log
  // must show the version the transaction is sent under.
  const sameVersion = ctx.view().policy.get(`${s.stepId}:transaction`)?.policyHash === decisionVersion(ctx.policy);
  if (!(approved && d.decision === 'require_approval' && sameVersion)) await ctx.recordPolicy(s.stepId, 'transaction', s.tool, d, hash);
  if (d.decision === 'deny') throw denied(d);
  if (d.decision === 'require_approval') {
    const q = d.approvals ?? { required: 1, selfApproval: true };
    const requestedBy = view.submitter ?? { kind: 'system' as const, id: 'unknown' };
    if (!ctx.view().approvalRequests.has(hash)) {
      const request = { stepId: s.stepId, proposalHash: hash, proposalJson: JSON.stringify(proposal), rule: d.rule };
      // v2 only for a proposal that one approver, anyone, does not release: any other stays as it always was (v1).
      if (q.required === 1 && q.selfApproval) await ctx.append('ApprovalRequested', request, 1);
      else await ctx.append('ApprovalRequested', { ...request, approvals: { required: q.required, selfApproval: q.selfApproval, requestedBy } }, 2);
      ctx.deps.logger?.info?.({ taskId: view.taskId, proposalHash: hash }, 'transaction waits for approval');
    }
    for (;;) {
      await ctx.sync();
      // Released only by what the policy in force asks now, not by what the policy that held it
      // asked: a proposal held before a restart under another `approvals` gets its new
      // requirement recorded, and a release by fewer approvers than asked now is reopened
      // (approvalRequirementChange). Decided and appended on one view: an approval that lands
      // in between makes the append conflict, and it is decided again.
      let outcome: 'approve' | 'reject' | undefined;
      let change: ApprovalRequirementChange | undefined;
      await ctx.appendDecided((v) => {
        const held = heldProposal(v, hash);
        change = held && approvalRequirementChange(held, { ...q, requestedBy });
        outcome = change ? undefined : held?.decided;
        return change && { type: 'ApprovalRequirementChanged', data: { stepId: s.stepId, proposalHash: hash, ...change, rule: d.rule, policy: ctx.policyName } };
      });
      if (change) ctx.deps.logger?.info?.({ taskId: view.taskId, proposalHash: hash, required: q.required, previous: change.previous.required, reopened: change.reopened }, 'the policy in force asks another approval requirement of a waiting transaction');
      if (outcome === 'approve') break;
      if (outcome === 'reject') throw new AgentError('APPROVAL_REJECTED', `an approver rejected proposal ${hash}`, { details: { proposalHash: hash } });
      await ctx.waitForChange(1_000);
    }
  }
  // Prepared before a wait (an approval, a restart): its contract checked again before anything is
  // signed, as a local chain restarted meanwhile holds none (a transfer to it would be mined as "success").
  if (waiting || d.decision === 'require_approval') await ctx.timed(assertContractDeployed(reg, proposal.chainId, proposal.to));
  const nonces = noncesOf(ctx.deps);
  // The daily caps again, at the moment of sending and under one lock per tenant and agent (the
  // cache's: Redis across processes) until the transaction is booked and sent: checked only once, before an
  // approval wait or beside other tasks, several transfers could each fit the cap and together
  // pass it. The day is today's now, not the proposal's. The signing is not raced against the
  // step timeout: abandoned, it would still send the transaction after the step was reported
  // failed, and the model's retry would pay twice.
  const lockKey = `agent:spend-lock:${view.tenant}:${agent}`;
  const busy = () => new AgentError('POLICY_DENIED', `spend lock ${lockKey} stayed busy: the transaction is not sent`);
  const lost = () => new AgentError('POLICY_DENIED', `spend lock ${lockKey} was lost (not renewed for too long: the cache unreachable, or the process stalled): the transaction is not sent`);
  // Booked (charged) and recorded (TransactionSubmitted): from then on the transaction may be out.
  let booked: SignedTransaction | undefined;
  // What of the caps was charged so far, to take back if the transaction is certainly never sent,
  // and on which day (the native charge's unused fee is taken back from it once mined).
  const charged = { native: 0n, method: 0n, day: '' };
  // Whether the TransactionSubmitted append was tried: if it failed, it may still have been written.
  let recording = false;
  // Set once a recorded transaction is known never to have been broadcast: from then on no
  // failure (of the clean-up below, a cancel, a stop) may lead to awaiting it, which re-broadcasts.
  let neverSent: unknown;
  let signed: SignedTransaction;
  try {
    signed = await withLock(cacheOf(ctx.deps), lockKey, `${view.taskId}:${s.stepId}:${newId()}`, { ttlMs: SPEND_LOCK_MS, pollMs: 50, waitMs: 30_000, busy, lost, logger: ctx.deps.logger }, async (spendLock) => {
      const day = utcDay(ctx.now());
      charged.day = day;
      // The fees it is signed with, fixed before the caps are checked: what is judged is what is signed.
      const fees = await quoteFees(reg, proposal.chainId);
      const now = await evaluate(day, fees.maxFeePerGas);
      if (now.decision === 'deny') {
        await ctx.recordPolicy(s.stepId, 'transaction', s.tool, now, hash);
        throw denied(now);
      }
      // Taken back (best effort: left charged is too much, never too little).
      const release = async () => {
        const back = (meter: string, amount: bigint) =>
          ledger.release(view.tenant, agent, meter, day, amount).catch((releaseErr: Error) => ctx.deps.logger?.warn({ taskId: view.taskId, stepId: s.stepId, meter, err: releaseErr.message }, 'spend of a transaction never sent not taken back: it stays charged for the day'));
        if (charged.native > 0n) await back(m.native, charged.native);
        if (m.method && charged.method > 0n) await back(m.method.meter, charged.method);
      };
      try {
        return await signAndSend(reg, nonces, proposal, async (tx) => {
          // Renewed while the nonce was awaited and the transaction signed; it must still be ours to book.
          await spendLock.check();
          // Its gas at the fee in the signed bytes: a signer that set a higher one than asked is
          // judged again on it (not recorded, so never sent, if that no longer fits).
          const signedFee = BigInt(tx.maxFeePerGas);
          if (signedFee > fees.maxFeePerGas) {
            const again = await evaluate(day, signedFee);
            if (again.decision === 'deny') {
              await ctx.recordPolicy(s.stepId, 'transaction', s.tool, again, hash);
              throw denied(again);
            }
          }
          // Charged before it is recorded: once recorded it may go out (now, or from a resumed
          // step, which awaits the recorded transaction and re-broadcasts it without running this
          // again), so a crash between recording and charging would let it be sent uncounted. A
          // crash between charging and recording leaves it charged but never sent: too much,
          // never too little. Native: the most it can cost, value + gas limit × max fee.
          const cost = maxNativeCost(proposal, signedFee);
          if (cost > 0n) {
            await ledger.add(view.tenant, agent, m.native, day, cost);
            charged.native = cost;
          }
          if (m.method) {
            await ledger.add(view.tenant, agent, m.method.meter, day, m.method.amount);
            charged.method = m.method.amount;
          }
          // Still ours after booking (a slow database while the cache was unreachable): else another
          // holder may have checked the caps without this charge. Not recorded yet, so if lost it is
          // never sent.
          await spendLock.check();
          recording = true;
          await ctx.append('TransactionSubmitted', {
            stepId: s.stepId,
            chainId: tx.chainId,
            from: tx.from,
            to: proposal.to,
            method: proposal.method,
            proposalHash: hash,
            nonce: tx.nonce,
            txHash: tx.txHash,
            value: tx.value,
            gasLimit: tx.gasLimit,
            rawTransaction: tx.rawTransaction,
          });
          booked = tx;
        }, resolved.fn);
      } catch (err) {
        if (!booked) {
          // Not recorded, so never broadcast (signAndSend broadcasts only what was recorded). The
          // charge is taken back unless the record may have been written all the same (an event
          // store error; a conflict or an interrupted run write nothing): a resumed step would
          // then send it, and it must stay counted.
          if (!recording || err instanceof RunInterrupted || err instanceof WrongExpectedRevisionError) await release();
          else ctx.deps.logger?.warn({ taskId: view.taskId, stepId: s.stepId, err: (err as Error).message }, 'recording a signed transaction failed and may have been written: its spend stays charged for the day');
          throw err;
        }
        // Certainly never sent (the node refused it, or the nonce lock was lost before the
        // broadcast): it must not eat the caps. Recorded first, then taken back: a crash in
        // between leaves it charged (too much, never too little), and a resumed step finds the
        // refusal instead of broadcasting the recorded bytes again.
        if (notSent(err)) {
          neverSent = err;
          // The node's own words (its JSON-RPC error): well-formed, as events need (createEvent).
          const error = { code: errorCodeOf(err), message: wellFormed(cutText((err as Error).message ?? String(err), 4000)) };
          // If this append fails the step still fails with `err` (and stays charged): a resumed
          // step finds the transaction recorded without an outcome and awaits it, but nothing
          // here may broadcast it.
          await ctx.append('TransactionRejected', { stepId: s.stepId, chainId: booked.chainId, txHash: booked.txHash, error }).catch((appendErr: Error) => {
            ctx.deps.logger?.warn({ taskId: view.taskId, stepId: s.stepId, txHash: booked!.txHash, err: appendErr.message }, 'transaction never sent, but its refusal could not be recorded');
            throw err;
          });
          await release();
        }
        throw err;
      }
    });
  } catch (err) {
    // Any other failure once the transaction is recorded (a cache or database error after the
    // broadcast, a broadcast with an unknown outcome) says nothing about whether it went out.
    // Reported as a step failure, the model could call again and pay twice; so the recorded
    // transaction is awaited like a resumed one (re-broadcast if the node does not know it).
    if (neverSent !== undefined) throw neverSent;
    if (!booked || notSent(err)) throw err;
    ctx.deps.logger?.warn({ taskId: view.taskId, stepId: s.stepId, txHash: booked.txHash, err: (err as Error).message }, 'transaction recorded but its send ended in an error: awaiting it as maybe sent');
    signed = booked;
  }
  const refund: NativeCharge | undefined = charged.native > 0n ? { ledger, tenant: view.tenant, agent, meter: m.native, day: charged.day, amount: charged.native, value: BigInt(proposal.value) } : undefined;
  return confirm(ctx, s, { chainId: signed.chainId, txHash: signed.txHash, rawTransaction: signed.rawTransaction }, hash, refund);
}

/** What this run charged the native meter for its transaction: the maximum, on `day`. */
type NativeCharge = { ledger: SpendLedger; tenant: string; agent: string; meter: string; day: string; amount: bigint; value: bigint };

/**
 * What the mined transaction took from the wallet: its fee (gas used × the receipt's price per
 * gas) and, unless it reverted, its value. Undefined when the receipt gives no price.
 */
function nativePaid(r: ConfirmedTransaction, value: bigint): bigint | undefined {
  if (r.effectiveGasPrice === undefined) return undefined;
  return (r.status === 'success' ? value : 0n) + BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice);
}

/**
 * Take back the part of the maximum charged at signing that the mined transaction did not cost
 * (gas left unused, a lower price, the value of a reverted call), from the day it was booked on:
 * the cap then counts what left the wallet. Only the run that charged it does, once, right after
 * recording TransactionConfirmed (recorded once per step). A run resumed after a crash does not
 * know what an earlier run charged and takes nothing back, nor does a run whose record of the
 * receipt failed: the maximum stays counted (too much, never too little). Best effort: the
 * transaction is mined, so a ledger error must not fail the step (the model would pay again).
 */
async function releaseUnusedFee(ctx: ChainStepContext, c: NativeCharge, r: ConfirmedTransaction): Promise<void> {
  const paid = nativePaid(r, c.value);
  if (paid === undefined || paid >= c.amount) return;
  await c.ledger.release(c.tenant, c.agent, c.meter, c.day, c.amount - paid).catch((err: Error) =>
    ctx.deps.logger?.warn({ taskId: ctx.view().taskId, txHash: r.txHash, meter: c.meter, err: err.message }, 'the unused gas fee was not taken back: the maximum stays charged for the day'),
  );
}

/** The errors that say a recorded transaction was certainly never broadcast. */
function notSent(err: unknown): err is Web3Error {
  return err instanceof Web3Error && (err.code === 'TX_REJECTED' || err.code === 'NONCE_LOCK_LOST');
}

/**
 * TTL of a spend lock. It is held through the wait for the nonce lock (up to 30 s), the signing,
 * the booking and the broadcast, renewed every third of this while held: only a crashed holder
 * loses it.
 */
const SPEND_LOCK_MS = 60_000;

function findHashOf(view: TaskView, stepId: string): string {
  for (const [k, p] of view.policy) if (k === `${stepId}:transaction` && p.proposalHash) return p.proposalHash;
  return '';
}

/** `charge`: what this very run charged the native meter (absent on a resumed step). */
async function confirm(ctx: ChainStepContext, s: StepSpec, tx: { chainId: number; txHash: string; rawTransaction?: string }, hash: string, charge?: NativeCharge): Promise<TransactionResult> {
  const done = ctx.view().txs.get(s.stepId)?.confirmed;
  if (done) return { chainId: tx.chainId, txHash: done.txHash, blockNumber: done.blockNumber, status: done.status, gasUsed: done.gasUsed, proposalHash: hash };
  let r: Awaited<ReturnType<typeof waitForTransaction>>;
  try {
    r = await waitForTransaction(ctx.deps.chains!, tx, { timeoutMs: ctx.opts.stepTimeoutMs, signal: ctx.signal });
  } catch (err) {
    // Sent but not seen mined in time: it may still be. Reported as a failure the model could
    // retry, it would be paid twice; so the step ends the task, naming the transaction. The same
    // for any error while awaiting it (the node unreachable…), unless the task is being stopped.
    if (!ctx.signal.aborted && !(err instanceof Web3Error && err.code === 'TX_DROPPED')) {
      throw new AgentError('TX_PENDING', `transaction ${tx.txHash} was sent but not seen mined (in time, or the node could not be asked); it may still be mined, so the step is not repeated: ${(err as Error).message}`, { cause: err, details: { txHash: tx.txHash } });
    }
    throw err;
  }
  // Mined: failing to record it is not the step's failure (told to the model, it would pay again);
  // the run stops and its resumed step awaits the recorded transaction and records it.
  await ctx.appendDone('TransactionConfirmed', { stepId: s.stepId, chainId: tx.chainId, txHash: r.txHash as Hex, blockNumber: r.blockNumber, blockHash: r.blockHash, status: r.status, gasUsed: r.gasUsed });
  if (charge) await releaseUnusedFee(ctx, charge, r);
  return { chainId: tx.chainId, txHash: r.txHash, blockNumber: r.blockNumber, status: r.status, gasUsed: r.gasUsed, proposalHash: hash };
}
