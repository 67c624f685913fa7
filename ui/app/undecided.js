// Which approval requests of a task still wait: a task may hold several transactions, each
// with its own proposal hash and its own decision.

/**
 * The ApprovalRequested events with no ApprovalGranted/ApprovalRejected for the same proposal
 * hash, in the order given. Requires the events of one task. @param {any[]} events
 */
export function undecided(events) {
  const decided = new Set(events.filter((e) => e.type === 'ApprovalGranted' || e.type === 'ApprovalRejected').map((e) => e.data?.proposalHash));
  return events.filter((e) => e.type === 'ApprovalRequested' && !decided.has(e.data?.proposalHash));
}
