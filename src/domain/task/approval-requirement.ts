import type { Actor } from '../../core/envelope';
import { principalKey, type ApprovalQuorum } from './approval.decider';

/** Where one held proposal stands, as its task's events record it. */
export type HeldProposal = {
  /** What releases it as recorded: ApprovalRequested's `approvals` (a v1 request: one approver, anyone), or the last ApprovalRequirementChanged's. */
  quorum: ApprovalQuorum;
  /** The principals who approved it, oldest first: each ApprovalGiven's approver, an ApprovalGranted's actor, those a change carried. */
  approvers: Actor[];
  decided?: 'approve' | 'reject';
};

/** What the policy in force asks now; `requestedBy` is the task's submitter. */
export type ApprovalRequirement = { required: number; selfApproval: boolean; requestedBy: Actor };

/** ApprovalRequirementChanged's data, but for stepId, rule and policy (the runtime's to add). */
export type ApprovalRequirementChange = {
  approvals: ApprovalRequirement;
  previous: { required: number; selfApproval: boolean };
  approvers: Actor[];
  reopened: boolean;
};

/**
 * The approvers who count toward `q`: each principal once (principalKey), the submitter
 * (`requestedBy`) only with `selfApproval`. Example: countedApprovers([bob, bob, alice],
 * { selfApproval: false, requestedBy: alice }) → [bob].
 */
export function countedApprovers(approvers: Actor[], q: { selfApproval: boolean; requestedBy?: Actor }): Actor[] {
  const seen = new Map<string, Actor>();
  for (const a of approvers) {
    const k = principalKey(a);
    if (seen.has(k) || (!q.selfApproval && q.requestedBy && principalKey(q.requestedBy) === k)) continue;
    seen.set(k, { kind: a.kind, id: a.id });
  }
  return [...seen.values()];
}

/**
 * Pure: what to record when the policy in force asks `now` of a proposal held as `held`, so
 * that what releases it is the policy's word at the moment it would be released, not the word
 * of the policy that held it. Undefined: nothing to record — it is rejected; or released by
 * enough approvers for `now` (a release checked against a stricter requirement stands under a
 * laxer one); or waiting under exactly `now` already. Otherwise the change, which always leaves
 * it waiting:
 * - raised (or selfApproval turned off): the approvals given that still count stand
 *   (`approvers`); one released by fewer than `now` asks is `reopened`;
 * - lowered: nothing is released by the change itself; the next approval is checked against `now`
 *   (it releases it if the count, with that approval, reaches `now.required`).
 * Example: approvalRequirementChange({ quorum: { required: 1, selfApproval: true }, approvers: [bob],
 * decided: 'approve' }, { required: 2, selfApproval: true, requestedBy: alice }) →
 * { approvals: {2, true, alice}, previous: {1, true}, approvers: [bob], reopened: true }.
 */
export function approvalRequirementChange(held: HeldProposal, now: ApprovalRequirement): ApprovalRequirementChange | undefined {
  if (held.decided === 'reject') return undefined;
  const approvers = countedApprovers(held.approvers, now);
  if (held.decided === 'approve' && approvers.length >= now.required) return undefined;
  if (held.decided === undefined && held.quorum.required === now.required && held.quorum.selfApproval === now.selfApproval) return undefined;
  return {
    approvals: { required: now.required, selfApproval: now.selfApproval, requestedBy: { kind: now.requestedBy.kind, id: now.requestedBy.id } },
    previous: { required: held.quorum.required, selfApproval: held.quorum.selfApproval },
    approvers,
    reopened: held.decided === 'approve',
  };
}
