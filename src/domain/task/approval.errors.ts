import { OpenMcpError } from '../../core/errors';

/**
 * An approval that does not match what waits: APPROVAL_PROPOSAL_MISMATCH (the hash names no
 * pending proposal of this task — tampered or stale), APPROVAL_NOT_PENDING (nothing waits),
 * APPROVAL_ALREADY_DECIDED (the other decision was already recorded). All 409: the request is
 * well-formed but the task's state refuses it.
 */
export class ApprovalError extends OpenMcpError {
  constructor(code: 'APPROVAL_PROPOSAL_MISMATCH' | 'APPROVAL_NOT_PENDING' | 'APPROVAL_ALREADY_DECIDED', message: string, details: Record<string, unknown>) {
    super(code, message, { status: 409, details });
  }
}
