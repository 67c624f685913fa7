import { AgentError } from '../errors';

/**
 * Refuse, before accepting it, a task this deployment cannot run: a natural-language
 * instruction needs an LLM (OPENAI_BASE_URL). Tasks with only explicit steps always run.
 * Throws AgentError LLM_NOT_CONFIGURED (HTTP 422).
 * @example assertTaskRunnable(config, { instruction: 'check my balance' })
 */
export function assertTaskRunnable(config: { OPENAI_BASE_URL?: string }, task: { instruction?: string; steps?: unknown[] }): void {
  if (task.instruction !== undefined && !config.OPENAI_BASE_URL) {
    throw new AgentError(
      'LLM_NOT_CONFIGURED',
      'natural-language tasks need an LLM: set OPENAI_BASE_URL (and OPENAI_API_KEY, OPENAI_MODEL) to an OpenAI-compatible endpoint, or submit explicit steps',
      { details: { field: 'instruction', setting: 'OPENAI_BASE_URL' } },
    );
  }
}
