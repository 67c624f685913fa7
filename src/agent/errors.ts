import { OpenMcpError } from '../core/errors';

export type AgentErrorCode =
  | 'LLM_NOT_CONFIGURED'
  | 'ANSWER_RECIPIENT_UNSUPPORTED'
  | 'LLM_UNAVAILABLE'
  | 'LLM_REQUEST_REFUSED'
  | 'LLM_RESPONSE_INVALID'
  | 'LLM_OUTPUT_TRUNCATED'
  | 'LLM_RESPONSE_TOO_LARGE'
  | 'LLM_CONTENT_FILTERED'
  | 'LLM_BUDGET_EXCEEDED'
  | 'TASK_MAX_STEPS'
  | 'TASK_TIMEOUT'
  | 'STEP_TIMEOUT'
  | 'STEP_OUTCOME_UNKNOWN'
  | 'STEP_ARGUMENTS_NOT_KEPT'
  | 'POLICY_DENIED'
  | 'APPROVAL_REJECTED'
  | 'APPROVAL_TIMEOUT'
  | 'TOOL_FAILED'
  | 'TOOL_ARGUMENTS_INVALID'
  | 'TX_PENDING';

const STATUS: Partial<Record<AgentErrorCode, number>> = {
  LLM_NOT_CONFIGURED: 422,
  ANSWER_RECIPIENT_UNSUPPORTED: 422,
  LLM_UNAVAILABLE: 503,
  LLM_REQUEST_REFUSED: 502,
  LLM_RESPONSE_INVALID: 502,
  LLM_OUTPUT_TRUNCATED: 502,
  LLM_RESPONSE_TOO_LARGE: 502,
  LLM_CONTENT_FILTERED: 422,
  LLM_BUDGET_EXCEEDED: 429,
  POLICY_DENIED: 403,
  TOOL_ARGUMENTS_INVALID: 400,
};

/** Errors of the agent runtime; their code and message end up in TaskFailed / TaskStepFailed. */
export class AgentError extends OpenMcpError {
  constructor(code: AgentErrorCode, message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, { status: STATUS[code] ?? 500, ...opts });
  }
}
