import { NotFoundError } from '../../core/errors';
import type { Decider, EventDraft } from '../decider';
import { ApprovalError } from './approval.errors';
import { taskDecider, type TaskState } from './task.decider';

export type ApprovalState = {
  task: TaskState;
  /** proposalHash → the step that waits for it. */
  requested: Map<string, string>;
  decided: Map<string, 'approve' | 'reject'>;
};

export type ApprovalCommand = { type: 'DecideApproval'; proposalHash: string; decision: 'approve' | 'reject'; comment?: string };

/**
 * Human approvals on the task stream, beside the task lifecycle (taskDecider ignores these events).
 * An approval releases exactly the proposal whose hash it names; a hash that names nothing
 * pending is refused, so a changed transaction (new hash) always needs a new approval.
 * Deciding the same way twice is a no-op (safe retries).
 */
export const approvalDecider: Decider<ApprovalState, ApprovalCommand, EventDraft> = {
  name: 'task-approval',
  initialState: () => ({ task: taskDecider.initialState(), requested: new Map(), decided: new Map() }),
  decide(command, state) {
    const { proposalHash: hash, decision } = command;
    if (state.task.status === 'none') throw new NotFoundError('task', '(stream)');
    const previous = state.decided.get(hash);
    if (previous === decision) return [];
    if (previous) throw new ApprovalError('APPROVAL_ALREADY_DECIDED', `proposal ${hash} was already decided: ${previous}`, { proposalHash: hash, decision: previous });
    const open = state.task.status === 'submitted' || state.task.status === 'running';
    const pending = [...state.requested.keys()].filter((h) => !state.decided.has(h));
    if (!open || pending.length === 0) {
      throw new ApprovalError('APPROVAL_NOT_PENDING', `task is ${state.task.status} and has no proposal waiting for approval`, { proposalHash: hash, status: state.task.status });
    }
    if (!state.requested.has(hash)) {
      throw new ApprovalError('APPROVAL_PROPOSAL_MISMATCH', `proposal hash ${hash} does not match the proposal waiting for approval; approve the exact hash shown in ApprovalRequested`, {
        proposalHash: hash,
      });
    }
    const data: Record<string, unknown> = { proposalHash: hash };
    if (command.comment !== undefined) data.comment = command.comment;
    return [{ type: decision === 'approve' ? 'ApprovalGranted' : 'ApprovalRejected', data }];
  },
  evolve(state, event) {
    const d = event.data as Record<string, string>;
    switch (event.type) {
      case 'ApprovalRequested':
        return { ...state, requested: new Map(state.requested).set(d.proposalHash, d.stepId) };
      case 'ApprovalGranted':
        return { ...state, decided: new Map(state.decided).set(d.proposalHash, 'approve') };
      case 'ApprovalRejected':
        return { ...state, decided: new Map(state.decided).set(d.proposalHash, 'reject') };
      default:
        return { ...state, task: taskDecider.evolve(state.task, event) };
    }
  },
};
