import OpenAI from 'openai';
import { redactUrl } from '../../core/errors';
import { AgentError } from '../errors';
import type { AssistantMessage, Completion, CompletionRequest, LlmClient, ToolCall } from './port';

export type OpenAiLlmClientOptions = {
  baseURL: string;
  apiKey?: string;
  model: string;
  /** Per request; the runtime's step timeout also aborts. Default 60 s. */
  timeoutMs?: number;
  maxRetries?: number;
};

/** The message's text: a string, or (some servers) an array of content parts whose text parts are joined. */
function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const texts = content.filter((p): p is { text: string } => typeof p?.text === 'string').map((p) => p.text);
  return texts.length ? texts.join('') : null;
}

function count(n: unknown): number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/**
 * The LLM adapter over the `openai` SDK, for any OpenAI-compatible endpoint (OpenAI, vLLM,
 * Ollama, llama.cpp server): chat completions with function tools, non-streaming.
 */
export class OpenAiLlmClient implements LlmClient {
  readonly provider: string;
  readonly model: string;
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiLlmClientOptions) {
    this.model = options.model;
    this.provider = `openai-compatible:${new URL(options.baseURL).host}`;
    // Local servers accept any key; the SDK insists on one being set.
    this.client = new OpenAI({ baseURL: options.baseURL, apiKey: options.apiKey || 'unused', timeout: options.timeoutMs ?? 60_000, maxRetries: options.maxRetries ?? 1 });
  }

  async complete(req: CompletionRequest): Promise<Completion> {
    let res: OpenAI.Chat.Completions.ChatCompletion;
    try {
      res = await this.client.chat.completions.create(
        {
          model: req.model,
          messages: req.messages as OpenAI.Chat.Completions.ChatCompletionMessageParam[],
          ...(req.tools.length
            ? { tools: req.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })) }
            : {}),
          temperature: req.temperature,
          max_tokens: req.maxTokens,
        },
        { signal: req.signal },
      );
    } catch (err) {
      if (req.signal?.aborted) throw err;
      // The SDK parses the body itself: a 200 that is not JSON surfaces as a SyntaxError.
      if (err instanceof SyntaxError) throw this.invalid(`answered with a body that is not JSON (${err.message})`, err);
      throw new AgentError('LLM_UNAVAILABLE', `LLM at ${redactUrl(this.options.baseURL)}: ${(err as Error).message}`, { cause: err });
    }
    // OpenAI-compatible servers vary: check the shape rather than trust the SDK's types.
    const choice = Array.isArray(res?.choices) ? res.choices[0] : undefined;
    if (!choice) throw this.invalid('returned no choice');
    if (!choice.message || typeof choice.message !== 'object') throw this.invalid('returned a choice without a message');
    const toolCalls: ToolCall[] = (Array.isArray(choice.message.tool_calls) ? choice.message.tool_calls : [])
      .filter((t): t is OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall => t?.type === 'function' && typeof t.function?.name === 'string')
      .map((t) => ({
        id: typeof t.id === 'string' ? t.id : '',
        type: 'function',
        // Some servers send the arguments as an object: the model still meant them.
        function: { name: t.function.name, arguments: typeof t.function.arguments === 'string' ? t.function.arguments : JSON.stringify(t.function.arguments ?? {}) },
      }));
    const content = textOf(choice.message.content);
    const message: AssistantMessage = { role: 'assistant', content, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) };
    const u = res.usage;
    return {
      message,
      finishReason: typeof choice.finish_reason === 'string' && choice.finish_reason ? choice.finish_reason.slice(0, 100) : 'stop',
      model: typeof res.model === 'string' && res.model ? res.model.slice(0, 200) : req.model,
      // Recorded in InferenceCompleted (safe integers only): a server's odd count is not worth failing the task.
      usage: { promptTokens: count(u?.prompt_tokens), completionTokens: count(u?.completion_tokens), totalTokens: count(u?.total_tokens) },
    };
  }

  private invalid(what: string, cause?: unknown): AgentError {
    return new AgentError('LLM_RESPONSE_INVALID', `LLM at ${redactUrl(this.options.baseURL)} ${what}`, cause === undefined ? {} : { cause });
  }
}
