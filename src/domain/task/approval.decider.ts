import type { Actor } from '../../core/envelope';
import { NotFoundError } from '../../core/errors';
import type { Decider, EventDraft } from '../decider';
import { ApprovalError } from './approval.errors';
import { taskDecider, type TaskState } from './task.decider';

/** What releases one proposal: `required` distinct approvers; the task's submitter among them only with `selfApproval`. */
export type ApprovalQuorum = { required: number; selfApproval: boolean; requestedBy?: Actor };

export type ApprovalRequest = { stepId: string; quorum: ApprovalQuorum };

export type ApprovalState = {
  task: TaskState;
  /** proposalHash → the step that waits for it, and what releases it. */
  requested: Map<string, ApprovalRequest>;
  /** proposalHash → the distinct approvers so far (by principalKey) of a proposal that needs several. */
  given: Map<string, Map<string, Actor>>;
  decided: Map<string, 'approve' | 'reject'>;
  /**
   * Steps that have ended or sent their transaction (TaskStepCompleted, TaskStepFailed,
   * TransactionSubmitted): a proposal of one no longer waits, whatever was decided of it. A
   * restarted agent whose policy no longer holds a proposal sends it without an approval.
   */
  ended: Set<string>;
};

export type ApprovalCommand = { type: 'DecideApproval'; proposalHash: string; decision: 'approve' | 'reject'; comment?: string; approver: Actor };

/**
 * One approver, counted once however often they approve: the actor's id (an API key's id, a JWT
 * subject). Not its kind, which follows the role of the key or token used: a subject holding an
 * agent token and an operator token is one principal, so it cannot submit with one and approve
 * its own step with the other. Two ids that happen to be equal count as one: the safe side. An API
 * key's id and a JWT subject never are: a token whose sub has a key id's form (UUIDv7) is refused
 * at authentication (principalFromClaims), so the recorded actor id alone tells the principal.
 */
export const principalKey = (a: Actor) => a.id;

/** One approver, anyone: what an ApprovalRequested without `approvals` (v1) means. */
const ONE_APPROVER: ApprovalQuorum = { required: 1, selfApproval: true };

/**
 * Human approvals on the task stream, beside the task lifecycle (taskDecider ignores these events).
 * An approval releases exactly the proposal whose hash it names; a hash that names nothing
 * pending is refused, so a changed transaction (new hash) always needs a new approval.
 * Deciding the same way twice is a no-op (safe retries).
 *
 * A proposal that needs several approvers (ApprovalRequested v2 `approvals.required`) records
 * each distinct approver's ApprovalGiven; the one that completes the count is appended with
 * ApprovalGranted, which alone releases it. The same principal approving again counts once
 * (a no-op). One rejection, by any approver, rejects it. With `selfApproval: false` the
 * task's submitter (`requestedBy`) may reject but not approve (APPROVAL_SELF_NOT_ALLOWED).
 *
 * ApprovalRequirementChanged (the runtime's, when the policy in force asks another quorum of a
 * proposal still waiting) replaces its quorum and its approvers so far, and reopens it if it had
 * been released (approvalRequirementChange). After a lowered requirement the count may already
 * be met: then the next approval releases it, a counted approver's repeat too.
 */
export const approvalDecider: Decider<ApprovalState, ApprovalCommand, EventDraft> = {
  name: 'task-approval',
  initialState: () => ({ task: taskDecider.initialState(), requested: new Map(), given: new Map(), decided: new Map(), ended: new Set() }),
  decide(command, state) {
    const { proposalHash: hash, decision } = command;
    if (state.task.status === 'none') throw new NotFoundError('task', '(stream)');
    const previous = state.decided.get(hash);
    if (previous === decision) return [];
    if (previous) throw new ApprovalError('APPROVAL_ALREADY_DECIDED', `proposal ${hash} was already decided: ${previous}`, { proposalHash: hash, decision: previous });
    const open = state.task.status === 'submitted' || state.task.status === 'running';
    const request = state.requested.get(hash);
    // Sent (or failed) without this decision: recording one now would tell the approver they stopped,
    // or released, what already happened. Said before "nothing waits", which it is too when it was the only one.
    if (open && request && state.ended.has(request.stepId)) {
      throw new ApprovalError('APPROVAL_NOT_PENDING', `proposal ${hash} no longer waits: step ${request.stepId} has ended without it (the policy in force after a restart no longer held it, or the step failed); see the task's events`, {
        proposalHash: hash,
        status: state.task.status,
      });
    }
    const pending = [...state.requested.entries()].filter(([h, r]) => !state.decided.has(h) && !state.ended.has(r.stepId)).map(([h]) => h);
    if (!open || pending.length === 0) {
      throw new ApprovalError('APPROVAL_NOT_PENDING', `task is ${state.task.status} and has no proposal waiting for approval`, { proposalHash: hash, status: state.task.status });
    }
    if (!request) {
      throw new ApprovalError('APPROVAL_PROPOSAL_MISMATCH', `proposal hash ${hash} does not match the proposal waiting for approval; approve the exact hash waiting (awaitingApproval of GET /v1/tasks/:id, or openmcp tasks show <id>; ApprovalRequested in its events)`, {
        proposalHash: hash,
      });
    }
    const comment = command.comment !== undefined ? { comment: command.comment } : {};
    if (decision === 'reject') return [{ type: 'ApprovalRejected', data: { proposalHash: hash, ...comment } }];
    const q = request.quorum;
    if (!q.selfApproval && q.requestedBy && principalKey(q.requestedBy) === principalKey(command.approver)) {
      throw new ApprovalError('APPROVAL_SELF_NOT_ALLOWED', `${principalKey(command.approver)} submitted this task and the policy needs another approver (four-eyes); they may reject it, not approve it`, {
        proposalHash: hash,
        approver: command.approver,
      });
    }
    if (q.required <= 1) return [{ type: 'ApprovalGranted', data: { proposalHash: hash, ...comment } }];
    const given = state.given.get(hash) ?? new Map<string, Actor>();
    // Counted already: a no-op, unless the count is met (its requirement lowered since): then it releases.
    if (given.has(principalKey(command.approver))) return given.size >= q.required ? [{ type: 'ApprovalGranted', data: { proposalHash: hash, ...comment } }] : [];
    const count = given.size + 1;
    const vote: EventDraft = { type: 'ApprovalGiven', data: { proposalHash: hash, approver: { kind: command.approver.kind, id: command.approver.id }, given: count, required: q.required, ...comment } };
    return count >= q.required ? [vote, { type: 'ApprovalGranted', data: { proposalHash: hash } }] : [vote];
  },
  evolve(state, event) {
    const d = event.data as Record<string, unknown>;
    const hash = d.proposalHash as string;
    switch (event.type) {
      case 'ApprovalRequested': {
        const a = d.approvals as ApprovalQuorum | undefined;
        return { ...state, requested: new Map(state.requested).set(hash, { stepId: d.stepId as string, quorum: a ?? ONE_APPROVER }) };
      }
      case 'ApprovalGiven': {
        const approver = d.approver as Actor;
        const given = new Map(state.given.get(hash) ?? []).set(principalKey(approver), approver);
        return { ...state, given: new Map(state.given).set(hash, given) };
      }
      case 'ApprovalRequirementChanged': {
        const request = state.requested.get(hash);
        const carried = new Map((d.approvers as Actor[]).map((a) => [principalKey(a), a] as const));
        const decided = new Map(state.decided);
        if (decided.get(hash) === 'approve') decided.delete(hash);
        return {
          ...state,
          requested: new Map(state.requested).set(hash, { stepId: request?.stepId ?? (d.stepId as string), quorum: d.approvals as ApprovalQuorum }),
          given: new Map(state.given).set(hash, carried),
          decided,
        };
      }
      case 'ApprovalGranted':
        return { ...state, decided: new Map(state.decided).set(hash, 'approve') };
      case 'ApprovalRejected':
        return { ...state, decided: new Map(state.decided).set(hash, 'reject') };
      case 'TransactionSubmitted':
      case 'TaskStepCompleted':
      case 'TaskStepFailed':
        return { ...state, ended: new Set(state.ended).add(d.stepId as string), task: taskDecider.evolve(state.task, event) };
      default:
        return { ...state, task: taskDecider.evolve(state.task, event) };
    }
  },
};
