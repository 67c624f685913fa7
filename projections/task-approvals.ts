import type { RecordedEvent } from '../src/core/envelope';

/**
 * A transaction proposal of the task that the policy held for a human (docs/policy.md,
 * "Approvals"), as the tasks read model keeps it. `requestedAt` is absent while only the policy's
 * decision is recorded (its reason comes first, the ApprovalRequested after); `approved` is kept
 * because a raised requirement can reopen the release (ApprovalRequirementChanged `reopened`).
 */
export type TaskApprovalDoc = {
  proposalHash: string;
  stepId: string;
  /** The policy rule that holds it, e.g. `method.approvalAbove`. */
  rule: string;
  /** The policy's reason, from its PolicyEvaluated `require_approval`. */
  reason?: string;
  /** When it was asked (ApprovalRequested), or asked again (a reopened release). */
  requestedAt?: string;
  status: 'pending' | 'approved';
  /** A proposal that needs several approvers, or not the submitter (ApprovalRequested v2, or a changed requirement). */
  approvals?: { required: number; given: number; selfApproval: boolean };
};

/** The events that change a task's proposals: all in its stream. */
export const APPROVAL_EVENT_TYPES = [
  'PolicyEvaluated', 'ApprovalRequested', 'ApprovalGiven', 'ApprovalRequirementChanged', 'ApprovalGranted', 'ApprovalRejected',
  'TransactionSubmitted', 'TaskStepCompleted', 'TaskStepFailed',
] as const;

type D = Record<string, unknown>;
type Quorum = { required: number; selfApproval: boolean };

/**
 * The task's proposals after `e`, or `list` itself when `e` changes none of them (pure; the
 * caller dedupes by stream revision). A rejected proposal, and every proposal of a step that
 * ended or sent its transaction, is dropped: nothing waits for them any more (as
 * approvalDecider's `ended`). The task's own end drops them all (the caller's).
 * @example evolveTaskApprovals([], approvalRequestedEvent) // [{ proposalHash, stepId, rule, requestedAt, status: 'pending' }]
 */
export function evolveTaskApprovals(list: readonly TaskApprovalDoc[], e: RecordedEvent): readonly TaskApprovalDoc[] {
  const d = e.data as D;
  const hash = d.proposalHash as string | undefined;
  const found = list.find((a) => a.proposalHash === hash);
  const put = (a: TaskApprovalDoc) => (found ? list.map((x) => (x === found ? a : x)) : [...list, a]);
  switch (e.type) {
    case 'PolicyEvaluated':
      if (d.decision !== 'require_approval' || !hash) return list;
      return put({ ...(found ?? { proposalHash: hash, stepId: String(d.stepId), status: 'pending' }), rule: String(d.rule), reason: String(d.reason) });
    case 'ApprovalRequested': {
      const q = d.approvals as Quorum | undefined;
      const approvals = q ? { approvals: { required: q.required, given: 0, selfApproval: q.selfApproval } } : {};
      return put({ ...found, proposalHash: hash!, stepId: String(d.stepId), rule: String(d.rule), requestedAt: e.occurredAt, status: 'pending', ...approvals });
    }
    case 'ApprovalGiven':
      if (!found) return list;
      return put({ ...found, approvals: { required: Number(d.required), given: Number(d.given), selfApproval: found.approvals?.selfApproval ?? true } });
    case 'ApprovalRequirementChanged': {
      const q = d.approvals as Quorum;
      const reopened = d.reopened === true || !found;
      return put({
        ...(found ?? { proposalHash: hash!, stepId: String(d.stepId) }),
        rule: String(d.rule),
        approvals: { required: q.required, given: (d.approvers as unknown[]).length, selfApproval: q.selfApproval },
        ...(reopened ? { status: 'pending' as const, requestedAt: e.occurredAt } : { status: found!.status }),
      });
    }
    case 'ApprovalGranted':
      return found ? put({ ...found, status: 'approved' }) : list;
    case 'ApprovalRejected':
      return found ? list.filter((a) => a !== found) : list;
    case 'TransactionSubmitted':
    case 'TaskStepCompleted':
    case 'TaskStepFailed':
      return list.some((a) => a.stepId === d.stepId) ? list.filter((a) => a.stepId !== d.stepId) : list;
    default:
      return list;
  }
}
