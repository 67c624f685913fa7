import type { Clock } from '../core/clock';
import { NotFoundError } from '../core/errors';
import type { EventCatalog } from '../../events/catalog';
import type { EventStore } from '../eventstore/port';
import { handleCommand } from '../domain/handle-command';
import { approvalDecider } from '../domain/task/approval.decider';
import { taskStream } from '../domain/task/task.decider';
import type { DecideApprovalParameters } from '../api/services';

/** The API's approval command (src/api/services.ts), which this service implements. */
export type DecideApprovalInput = DecideApprovalParameters;

/** What an approval left the proposal in: released, refused, or still waiting for more approvers. */
export type ApprovalOutcome = {
  taskId: string;
  proposalHash: string;
  decision: 'approve' | 'reject';
  /** The last event appended (none for a repeat, which changes nothing). */
  eventId?: string;
  status: 'approved' | 'rejected' | 'pending';
  /** Distinct approvers so far and how many the proposal needs (1 unless its policy asks for more; the policy in force, once the runtime recorded a change). */
  approvals: { given: number; required: number };
};

/**
 * What POST /v1/tasks/:id/approvals calls. Appends ApprovalGranted/ApprovalRejected (and, for a
 * proposal that needs several approvers, ApprovalGiven) to the task stream; the runtime waiting
 * on that proposal sees ApprovalGranted or ApprovalRejected and goes on. Approvals are counted
 * against the requirement the log holds: ApprovalRequested's, or the ApprovalRequirementChanged the
 * runtime recorded when the policy in force asked another (docs/policy.md); the runtime checks the
 * release against its policy again before it sends. Errors: NOT_FOUND (no such
 * task for this tenant), APPROVAL_PROPOSAL_MISMATCH, APPROVAL_NOT_PENDING, APPROVAL_ALREADY_DECIDED
 * (409), APPROVAL_SELF_NOT_ALLOWED (403).
 */
export class ApprovalsService {
  constructor(private readonly deps: { store: EventStore; catalog: EventCatalog; clock?: Clock }) {}

  async decide(p: DecideApprovalInput): Promise<ApprovalOutcome> {
    try {
      const r = await handleCommand(this.deps, {
        decider: approvalDecider,
        stream: taskStream(p.taskId),
        command: { type: 'DecideApproval', proposalHash: p.proposalHash, decision: p.decision, comment: p.comment, approver: p.actor },
        metadata: { tenant: p.tenant, actor: p.actor, correlationId: p.correlationId },
      });
      const decided = r.state.decided.get(p.proposalHash);
      const required = r.state.requested.get(p.proposalHash)?.quorum.required ?? 1;
      // Distinct approvals recorded (ApprovalGiven, or carried by an ApprovalRequirementChanged); one approval releases a v1 proposal without one.
      const counted = r.state.given.get(p.proposalHash)?.size ?? 0;
      const given = decided === 'approve' ? Math.max(counted, 1) : counted;
      const last = r.events[r.events.length - 1];
      return {
        taskId: p.taskId,
        proposalHash: p.proposalHash,
        decision: p.decision,
        ...(last ? { eventId: last.id } : {}),
        status: decided === 'approve' ? 'approved' : decided === 'reject' ? 'rejected' : 'pending',
        approvals: { given, required },
      };
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError('task', p.taskId);
      throw err;
    }
  }
}
