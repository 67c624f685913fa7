import { AgentError } from '../errors';

/**
 * Refuse, before accepting it, a task this deployment cannot run: a natural-language
 * instruction needs an LLM (OPENAI_BASE_URL). Tasks with only explicit steps always run.
 * Throws AgentError LLM_NOT_CONFIGURED (HTTP 422). An `answerRecipient` (a sealed answer) is for
 * LLM_REDACTION=hash-only: under `store` the answer is recorded whole in the output, readable by
 * all who read the log, which a client asking for a sealed answer does not expect: refused with
 * ANSWER_RECIPIENT_UNSUPPORTED (HTTP 422) rather than ignored.
 * @example assertTaskRunnable(config, { instruction: 'check my balance' })
 */
export function assertTaskRunnable(
  config: { OPENAI_BASE_URL?: string; LLM_REDACTION?: 'store' | 'hash-only' },
  task: { instruction?: string; steps?: unknown[]; answerRecipient?: string },
): void {
  if (task.instruction !== undefined && !config.OPENAI_BASE_URL) {
    throw new AgentError(
      'LLM_NOT_CONFIGURED',
      'natural-language tasks need an LLM: set OPENAI_BASE_URL (and OPENAI_API_KEY, OPENAI_MODEL) to an OpenAI-compatible endpoint, or submit explicit steps',
      { details: { field: 'body.instruction', setting: 'OPENAI_BASE_URL' } },
    );
  }
  if (task.answerRecipient !== undefined && config.LLM_REDACTION !== 'hash-only') {
    throw new AgentError(
      'ANSWER_RECIPIENT_UNSUPPORTED',
      'this gateway records answers whole (LLM_REDACTION=store), readable by anyone who reads the task: answerRecipient (a sealed answer) is for LLM_REDACTION=hash-only; submit without it to have the answer in the output',
      { details: { field: 'body.answerRecipient', setting: 'LLM_REDACTION' } },
    );
  }
}
