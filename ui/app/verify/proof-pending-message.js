// The server's PROOF_PENDING detail (src/proofs/errors.ts, ProofPendingError) says what the proof
// waits for; the CLI's hint reads it the same way (src/cli/events-proof.ts). A batch of bookkeeping
// alone (BatchSealed, BatchAnchored…) is sealed only once another event joins it, whatever the seconds.

/**
 * The sentence the Verify view shows while it waits for a proof, from the problem's detail.
 * @example proofPendingMessage('event e1: its batch is not sealed yet', '10 seconds') // "This event's batch is not sealed yet. Trying again in 10 seconds."
 * @param {string} detail @param {string} wait
 */
export function proofPendingMessage(detail, wait) {
  const what = detail.includes('is sealed once another event joins it')
    ? 'is sealed only once another event is recorded (a task, a tool call, a key issued)'
    : detail.endsWith('not sealed yet')
      ? 'is not sealed yet'
      : 'is not anchored yet';
  return `This event's batch ${what}. Trying again in ${wait}.`;
}
