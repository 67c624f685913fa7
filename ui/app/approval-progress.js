import { inLogOrder, undecided } from './undecided.js';

// Where one held proposal stands for the signed-in principal: how many of the approvers it needs
// have approved (from the recorded ApprovalGiven events, and the ApprovalRequirementChanged the
// runtime records when the policy in force asks another number, so a reload or another
// approver's page shows the same), who they are, and whether this principal may still approve it.

/** @typedef {{ kind: string, id: string }} Actor */
/**
 * @typedef {{
 *   required: number, selfApproval: boolean, requestedBy?: Actor,
 *   changedFrom?: { required: number, selfApproval: boolean, reopened: boolean, at: string },
 *   approvers: (Actor & { at: string, you: boolean })[],
 *   youApproved: boolean, youSubmitted: boolean, otherTenant: boolean, mayApprove: boolean, mayReject: boolean
 * }} ApprovalProgress
 */

/**
 * The progress of the proposal `request` (an ApprovalRequested, v1 or v2) given the task's
 * ApprovalGiven and ApprovalRequirementChanged events (`given`; those of other proposals are
 * ignored), as `me` (`/ui/api/config`: `tenant` and `actor`) sees it. The last
 * ApprovalRequirementChanged, when there is one, says what releases it now (`changedFrom`: what
 * the request said) and whose approvals stand; ApprovalGiven events after it add to them. An
 * approver is counted once by `actor.id`, as the server counts them (principalKey). "You" only
 * within the request's own tenant: a cross-tenant reader is never the submitter or an approver of
 * another tenant's task, and may not decide it either (a decision runs in the key's own tenant:
 * the task is not found). Without `me.actor` (an older server) nothing is known about "you":
 * Approve is offered and the API decides. A counted approver may approve again only when the
 * count is met (a lowered requirement): that approval releases it.
 * Example: `approvalProgress(requested, [given], { tenant: 'acme', actor: { kind: 'user', id: 'k1' } })`.
 * @param {any} request @param {any[]} given @param {{ tenant?: string, actor?: Actor }} me
 * @returns {ApprovalProgress}
 */
export function approvalProgress(request, given, me) {
  const hash = request.data?.proposalHash;
  const mine = inLogOrder(given.filter((e) => e.data?.proposalHash === hash && (e.type === 'ApprovalGiven' || e.type === 'ApprovalRequirementChanged')));
  const changes = mine.filter((e) => e.type === 'ApprovalRequirementChanged');
  const change = changes[changes.length - 1];
  const q = change ? change.data.approvals : request.data?.approvals;
  const required = q?.required ?? 1;
  const selfApproval = q?.selfApproval ?? true;
  const requestedBy = q?.requestedBy;
  const otherTenant = request.tenant !== undefined && me.tenant !== undefined && request.tenant !== me.tenant;
  const myId = me.actor && !otherTenant ? me.actor.id : undefined;
  /** When each principal first approved (an approval a change carried may have no ApprovalGiven: a proposal one approval released). */
  const firstAt = new Map();
  for (const e of mine) if (e.type === 'ApprovalGiven' && !firstAt.has((e.data.approver ?? e.actor)?.id)) firstAt.set((e.data.approver ?? e.actor)?.id, e.occurredAt);
  /** @type {Map<string, Actor & { at: string, you: boolean }>} */
  const approvers = new Map();
  const add = (/** @type {any} */ a, /** @type {string} */ at) => {
    if (a?.id !== undefined && !approvers.has(a.id)) approvers.set(a.id, { kind: a.kind, id: a.id, at, you: a.id === myId });
  };
  for (const a of change?.data.approvers ?? []) add(a, firstAt.get(a.id) ?? change.occurredAt);
  for (const e of change ? mine.slice(mine.indexOf(change) + 1) : mine) if (e.type === 'ApprovalGiven') add(e.data.approver ?? e.actor, e.occurredAt);
  const youApproved = myId !== undefined && approvers.has(myId);
  const youSubmitted = myId !== undefined && requestedBy?.id === myId;
  const countMet = approvers.size >= required;
  return {
    required,
    selfApproval,
    ...(requestedBy ? { requestedBy } : {}),
    ...(change ? { changedFrom: { ...change.data.previous, reopened: change.data.reopened, at: change.occurredAt } } : {}),
    approvers: [...approvers.values()],
    youApproved,
    youSubmitted,
    otherTenant,
    mayApprove: !otherTenant && (!youApproved || countMet) && !(youSubmitted && !selfApproval),
    mayReject: !otherTenant,
  };
}

/**
 * The event types of a task's stream that change what its Approvals card shows: the page reads
 * these (one query each, of running tasks only) and reloads when one is recorded.
 */
export const APPROVAL_TYPES = ['ApprovalRequested', 'ApprovalGiven', 'ApprovalRequirementChanged', 'ApprovalGranted', 'ApprovalRejected'];
const TASK_ENDS = new Set(['TaskCompleted', 'TaskFailed', 'TaskCancelled']);

/**
 * Does this live notice change the Approvals page? Any approval event (a partial approval by
 * another approver too), and the end of a task a card shows, or a transaction it sent (maybe one a card shows, sent without a decision): not every task that ends on a busy
 * gateway, whose reloads would spend the key's rate limit. @param {{ type: string, taskId?: string }} n
 * @param {Set<string>} shownTaskIds
 */
export const changesApprovals = (n, shownTaskIds) =>
  APPROVAL_TYPES.includes(n.type) || ((TASK_ENDS.has(n.type) || n.type === 'TransactionSubmitted') && n.taskId !== undefined && shownTaskIds.has(n.taskId));

/**
 * The proposals of one task still waiting for a decision, in the order given, each with its
 * progress as `me` sees it. Requires the approval events of one task (any order of types).
 * @param {any[]} events @param {{ tenant?: string, actor?: Actor }} me
 * @returns {{ e: any, progress: ApprovalProgress }[]}
 */
export function pendingApprovals(events, me) {
  const given = events.filter((e) => e.type === 'ApprovalGiven' || e.type === 'ApprovalRequirementChanged');
  return undecided(events).map((e) => ({ e, progress: approvalProgress(e, given, me) }));
}
