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

/**
 * What POST /v1/tasks/:id/approvals calls. Appends ApprovalGranted/ApprovalRejected to the task
 * stream; the runtime waiting on that proposal sees it and goes on. Errors: NOT_FOUND (no such
 * task for this tenant), APPROVAL_PROPOSAL_MISMATCH, APPROVAL_NOT_PENDING, APPROVAL_ALREADY_DECIDED (409).
 */
export class ApprovalsService {
  constructor(private readonly deps: { store: EventStore; catalog: EventCatalog; clock?: Clock }) {}

  async decide(p: DecideApprovalInput): Promise<{ taskId: string; proposalHash: string; decision: 'approve' | 'reject'; eventId?: string }> {
    try {
      const r = await handleCommand(this.deps, {
        decider: approvalDecider,
        stream: taskStream(p.taskId),
        command: { type: 'DecideApproval', proposalHash: p.proposalHash, decision: p.decision, comment: p.comment },
        metadata: { tenant: p.tenant, actor: p.actor, correlationId: p.correlationId },
      });
      return { taskId: p.taskId, proposalHash: p.proposalHash, decision: p.decision, ...(r.events[0] ? { eventId: r.events[0].id } : {}) };
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError('task', p.taskId);
      throw err;
    }
  }
}
