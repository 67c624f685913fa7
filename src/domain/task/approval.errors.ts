import { OpenMcpError } from '../../core/errors';

export type ApprovalErrorCode = 'APPROVAL_PROPOSAL_MISMATCH' | 'APPROVAL_NOT_PENDING' | 'APPROVAL_ALREADY_DECIDED' | 'APPROVAL_SELF_NOT_ALLOWED';

/**
 * An approval that does not match what waits: APPROVAL_PROPOSAL_MISMATCH (the hash names no
 * pending proposal of this task — tampered or stale), APPROVAL_NOT_PENDING (nothing waits),
 * APPROVAL_ALREADY_DECIDED (the other decision was already recorded): 409, the request is
 * well-formed but the task's state refuses it. APPROVAL_SELF_NOT_ALLOWED: the task's submitter
 * approving a proposal whose policy wants someone else (four-eyes): 403, this principal may not.
 */
export class ApprovalError extends OpenMcpError {
  constructor(code: ApprovalErrorCode, message: string, details: Record<string, unknown>) {
    super(code, message, { status: code === 'APPROVAL_SELF_NOT_ALLOWED' ? 403 : 409, details });
  }
}
