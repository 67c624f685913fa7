import type { PayloadHashScheme } from '../../erasure/salted-hash';
import type { SealedPayload } from '../../erasure/sealed-payload';
import type { SealedTaskStep } from '../../erasure/task-input';
import type { Actor, RecordedEvent } from '../../core/envelope';
import type { TaskStep } from '../../../events/task.events';
import { principalKey, type ApprovalQuorum } from '../../domain/task/approval.decider';
import type { HeldProposal } from '../../domain/task/approval-requirement';
import type { RedactedTurn } from './llm-redaction';
import type { SealedAnswer } from '../../core/sealed-answer';

/** A step's result as TaskStepCompleted keeps it; `resultHashScheme` (v2) says resultHash is salted. */
export type StepOutcome = { resultHash: string; resultHashScheme?: PayloadHashScheme; resultJson?: string; isError: boolean };

export type StepRecord = {
  stepId: string;
  index: number;
  tool: string;
  idempotent: boolean;
  /** TaskStepStarted's arguments, when it kept them (a resumed run that has no copy of a hash-only turn makes a started chain step from them). */
  argumentsJson?: string;
  result?: StepOutcome;
  failed?: { code: string; message: string };
};

/**
 * A recorded model turn; `responseJson` is absent (and `responseChars` set) for an answer too large
 * to keep (InferenceCompleted v2), and (`redacted` set instead) under LLM_REDACTION=hash-only (v4);
 * `sealedAnswer` is the final answer sealed to the task's answerRecipient, recorded with its turn (v5).
 * `unbooked` (v6 `usageUnbooked`): its tokens are to be booked under `eventId` on the day it was recorded (`occurredAt`).
 * `promptSalted` (v8 `promptHashScheme`): its promptHash is salted.
 */
export type TurnRecord = {
  responseJson?: string;
  responseChars?: number;
  redacted?: RedactedTurn;
  sealedAnswer?: SealedAnswer;
  promptHash: string;
  /** v8: `promptHash` is salted (the response cache knows its turn by the plain one: saltedPromptCacheKey). */
  promptSalted?: boolean;
  finishReason: string;
  /** The tools the turn was offered, by the names the model saw (InferenceCompleted `tools`, every version). */
  tools: string[];
  totalTokens: number;
  cached: boolean;
  eventId: string;
  occurredAt: string;
  unbooked: boolean;
};

export type PolicyRecord = { decision: 'allow' | 'deny' | 'require_approval'; rule: string; reason: string; proposalHash?: string; policyHash?: string };

export type TxRecord = {
  submitted?: { chainId: number; txHash: string; rawTransaction: string; from: string; nonce: number };
  confirmed?: { txHash: string; blockNumber: number; status: 'success' | 'reverted'; gasUsed: string };
  /** The node refused it: never sent. */
  rejected?: { code: string; message: string };
};

/**
 * Everything the runtime needs to resume a task, folded from the task's own stream (pure).
 * Steps, model turns, policy decisions, approvals and transactions are keyed so that a resumed
 * run finds what was already done and does not do it again.
 */
export type TaskView = {
  taskId: string;
  tenant: string;
  submitter?: Actor;
  correlationId?: string;
  status: 'none' | 'submitted' | 'running' | 'completed' | 'failed' | 'cancelled';
  startedAt?: string;
  instruction?: string;
  /** TaskSubmitted v3: the input sealed under the submitter's subject key; opened when the run starts (openTaskInput). */
  instructionSealed?: SealedPayload;
  steps?: (TaskStep | SealedTaskStep)[];
  agentId?: string;
  chainId?: number;
  /** TaskSubmitted v2: the client's public key its answer is sealed to under LLM_REDACTION=hash-only. */
  answerRecipient?: string;
  stepRecords: Map<string, StepRecord>;
  turns: TurnRecord[];
  policy: Map<string, PolicyRecord>;
  /** proposalHash → the step it holds, the proposal, what releases it as recorded, and who approved it so far. */
  approvalRequests: Map<string, ApprovalRequestRecord>;
  approvals: Map<string, 'approve' | 'reject'>;
  txs: Map<string, TxRecord>;
  tokensUsed: number;
  /** The current holder of the task (TaskLeased); absent when never leased or handed back. */
  lease?: TaskLease;
  /** Highest lease term seen (0 = never leased). */
  leaseTerm: number;
  lastRevision: number;
};

export type ApprovalRequestRecord = {
  stepId: string;
  proposalJson: string;
  /** ApprovalRequested's `approvals` (v1: one approver, anyone), or the last ApprovalRequirementChanged's. */
  quorum: ApprovalQuorum;
  /** principalKey → approver: ApprovalGiven's, ApprovalGranted's actor, those an ApprovalRequirementChanged carried. */
  approvers: Map<string, Actor>;
};

export type TaskLease = { worker: string; term: number; until: number };

export function emptyTaskView(taskId: string): TaskView {
  return {
    taskId,
    tenant: '',
    status: 'none',
    stepRecords: new Map(),
    turns: [],
    policy: new Map(),
    approvalRequests: new Map(),
    approvals: new Map(),
    txs: new Map(),
    tokensUsed: 0,
    leaseTerm: 0,
    lastRevision: -1,
  };
}

/** Apply one event of the task stream (mutates and returns `v`; the view is private to one run). */
export function applyTaskEvent(v: TaskView, e: RecordedEvent): TaskView {
  const d = e.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  v.lastRevision = e.revision;
  switch (e.type) {
    case 'TaskSubmitted':
      Object.assign(v, { tenant: e.tenant, submitter: e.actor, correlationId: e.correlationId ?? e.id, status: 'submitted', instruction: d.instruction, instructionSealed: d.instructionSealed, steps: d.steps, agentId: d.agentId, chainId: d.chainId, answerRecipient: d.answerRecipient });
      break;
    case 'TaskLeased':
      v.lease = { worker: d.worker, term: d.term, until: Date.parse(d.leaseUntil) };
      v.leaseTerm = Math.max(v.leaseTerm, d.term);
      break;
    case 'TaskLeaseReleased':
      if (v.lease?.term === d.term) v.lease = undefined;
      break;
    case 'TaskStarted':
      v.status = 'running';
      v.startedAt ??= e.occurredAt;
      break;
    case 'TaskCompleted':
      v.status = 'completed';
      break;
    case 'TaskFailed':
      v.status = 'failed';
      break;
    case 'TaskCancelled':
      v.status = 'cancelled';
      break;
    case 'TaskStepStarted':
      v.stepRecords.set(d.stepId, { stepId: d.stepId, index: d.index, tool: d.tool, idempotent: d.idempotent, argumentsJson: d.argumentsJson });
      break;
    case 'TaskStepCompleted': {
      const s = v.stepRecords.get(d.stepId);
      if (s) s.result = { resultHash: d.resultHash, ...(d.resultHashScheme ? { resultHashScheme: d.resultHashScheme } : {}), resultJson: d.resultJson, isError: d.isError };
      break;
    }
    case 'TaskStepFailed': {
      const s = v.stepRecords.get(d.stepId);
      if (s) s.failed = d.error;
      else v.stepRecords.set(d.stepId, { stepId: d.stepId, index: -1, tool: '', idempotent: false, failed: d.error });
      break;
    }
    case 'InferenceCompleted':
      v.turns[d.turn] = {
        responseJson: d.responseJson,
        responseChars: d.responseOmitted?.chars,
        redacted: d.responseRedacted,
        sealedAnswer: d.sealedAnswer,
        promptHash: d.promptHash,
        ...(d.promptHashScheme !== undefined ? { promptSalted: true } : {}),
        finishReason: d.finishReason,
        tools: d.tools,
        totalTokens: d.usage.totalTokens,
        cached: d.cached,
        eventId: e.id,
        occurredAt: e.occurredAt,
        unbooked: d.usageUnbooked === true,
      };
      if (!d.cached) v.tokensUsed += d.usage.totalTokens;
      break;
    case 'PolicyEvaluated':
      v.policy.set(`${d.stepId}:${d.subject}`, { decision: d.decision, rule: d.rule, reason: d.reason, proposalHash: d.proposalHash, policyHash: d.policyHash });
      break;
    case 'ApprovalRequested':
      v.approvalRequests.set(d.proposalHash, { stepId: d.stepId, proposalJson: d.proposalJson, quorum: d.approvals ?? { required: 1, selfApproval: true }, approvers: new Map() });
      break;
    case 'ApprovalGiven':
      v.approvalRequests.get(d.proposalHash)?.approvers.set(principalKey(d.approver), d.approver);
      break;
    case 'ApprovalRequirementChanged': {
      const r = v.approvalRequests.get(d.proposalHash);
      if (r) Object.assign(r, { quorum: d.approvals, approvers: new Map((d.approvers as Actor[]).map((a) => [principalKey(a), a])) });
      if (v.approvals.get(d.proposalHash) === 'approve') v.approvals.delete(d.proposalHash);
      break;
    }
    case 'ApprovalGranted':
      v.approvals.set(d.proposalHash, 'approve');
      // Who released it: for a proposal one approval releases there is no ApprovalGiven.
      v.approvalRequests.get(d.proposalHash)?.approvers.set(principalKey(e.actor), { kind: e.actor.kind, id: e.actor.id });
      break;
    case 'ApprovalRejected':
      v.approvals.set(d.proposalHash, 'reject');
      break;
    case 'TransactionSubmitted': {
      const t = v.txs.get(d.stepId) ?? {};
      t.submitted = { chainId: d.chainId, txHash: d.txHash, rawTransaction: d.rawTransaction, from: d.from, nonce: d.nonce };
      v.txs.set(d.stepId, t);
      break;
    }
    case 'TransactionConfirmed': {
      const t = v.txs.get(d.stepId) ?? {};
      t.confirmed = { txHash: d.txHash, blockNumber: d.blockNumber, status: d.status, gasUsed: d.gasUsed };
      v.txs.set(d.stepId, t);
      break;
    }
    case 'TransactionRejected': {
      const t = v.txs.get(d.stepId) ?? {};
      t.rejected = d.error;
      v.txs.set(d.stepId, t);
      break;
    }
    default:
      break;
  }
  return v;
}

/** The proposal with this hash as approvalRequirementChange reads it (undefined: none was requested). */
export function heldProposal(v: TaskView, hash: string): HeldProposal | undefined {
  const r = v.approvalRequests.get(hash);
  if (!r) return undefined;
  const decided = v.approvals.get(hash);
  return { quorum: r.quorum, approvers: [...r.approvers.values()], ...(decided ? { decided } : {}) };
}

export function foldTaskView(taskId: string, events: RecordedEvent[]): TaskView {
  return events.reduce(applyTaskEvent, emptyTaskView(taskId));
}

export function isTerminal(v: TaskView): boolean {
  return v.status === 'completed' || v.status === 'failed' || v.status === 'cancelled';
}

/** Calls of `tool` already started in this task (for per-task tool budgets). */
export function callsOf(v: TaskView, tool: string, exceptStepId?: string): number {
  let n = 0;
  for (const s of v.stepRecords.values()) if (s.tool === tool && s.stepId !== exceptStepId) n++;
  return n;
}
