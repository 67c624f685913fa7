// Which approval requests of a task still wait: a task may hold several transactions, each
// with its own proposal hash and its own decision.

/**
 * The events in log order (by `position` when every one has it: a page may gather them one type
 * at a time), else as given. @param {any[]} events
 */
export const inLogOrder = (events) => (events.every((e) => typeof e.position === 'number') ? [...events].sort((a, b) => a.position - b.position) : events);

/**
 * The ApprovalRequested events still waiting, in the order given: no ApprovalRejected for the
 * same proposal hash, and no ApprovalGranted unless an ApprovalRequirementChanged came after it
 * (the policy in force asked more approvers than had released it: it waits again), and no
 * TransactionSubmitted of its step (sent without one: its decision is refused, APPROVAL_NOT_PENDING).
 * Requires the events of one task. @param {any[]} events
 */
export function undecided(events) {
  /** @type {Map<string, 'waiting' | 'granted' | 'rejected'>} */
  const state = new Map();
  // A step whose transaction went out without a decision (a restarted agent's policy no longer held it): nothing to decide.
  const sent = new Set(events.filter((e) => e.type === 'TransactionSubmitted').map((e) => e.data?.stepId));
  for (const e of inLogOrder(events)) {
    const h = e.data?.proposalHash;
    if (e.type === 'ApprovalRejected') state.set(h, 'rejected');
    else if (e.type === 'ApprovalGranted' && state.get(h) !== 'rejected') state.set(h, 'granted');
    else if (e.type === 'ApprovalRequirementChanged' && state.get(h) !== 'rejected') state.set(h, 'waiting');
  }
  return events.filter((e) => e.type === 'ApprovalRequested' && !sent.has(e.data?.stepId) && (state.get(e.data?.proposalHash) ?? 'waiting') === 'waiting');
}
