import type { OpenMcpClient } from '../sdk/client';
import { printable } from './printable';
import { reportCliError, stdout, type Writer } from './tasks';

/**
 * `openmcp tasks cancel <id> [--reason R]`: `POST /v1/tasks/:id/cancel` (a repeat answers
 * `cancelled` again and records nothing). Returns the exit code: 1 with the error (a task that
 * completed or failed already is `INVALID_TRANSITION`, saying so).
 */
export async function runTasksCancel(client: OpenMcpClient, id: string, o: { reason?: string } = {}, out: Writer = stdout): Promise<number> {
  try {
    const r = await client.tasks.cancel(id, o.reason);
    out(`task ${r.id} ${r.status}`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}

export type TasksDecideOptions = { hash: string; decision: 'approve' | 'reject'; comment?: string };

/**
 * `openmcp tasks approve|reject <id> --hash H [--comment C]`: `POST /v1/tasks/:id/approvals` for
 * the proposal with hash H (`tasks show` lists the ones waiting). Prints what it did: released,
 * rejected, or recorded and waiting for more approvers. Returns the exit code: 1 with the error's
 * code (`APPROVAL_PROPOSAL_MISMATCH`, `APPROVAL_NOT_PENDING`…, docs/errors.md).
 */
export async function runTasksDecide(client: OpenMcpClient, id: string, o: TasksDecideOptions, out: Writer = stdout): Promise<number> {
  try {
    const r = await client.tasks.approve(id, { proposalHash: o.hash, decision: o.decision, ...(o.comment !== undefined ? { comment: o.comment } : {}) });
    const count = r.approvals && r.approvals.required > 1 ? ` (${r.approvals.given} of ${r.approvals.required} approvals)` : '';
    if (r.status === 'approved') out(`proposal ${r.proposalHash} approved${count}: released, task ${r.taskId} goes on`);
    else if (r.status === 'rejected') out(`proposal ${r.proposalHash} rejected: task ${r.taskId} fails with APPROVAL_REJECTED`);
    else if (r.status === 'pending') out(`proposal ${r.proposalHash}: your approval is recorded${count}; it waits for more approvers`);
    else out(printable(`proposal ${r.proposalHash}: ${r.decision} recorded`));
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}
