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
      throw new AgentError('LLM_UNAVAILABLE', `LLM at ${redactUrl(this.options.baseURL)}: ${(err as Error).message}`, { cause: err });
    }
    const choice = res.choices[0];
    if (!choice) throw new AgentError('LLM_UNAVAILABLE', `LLM at ${redactUrl(this.options.baseURL)} returned no choice`);
    const toolCalls: ToolCall[] = (choice.message.tool_calls ?? [])
      .filter((t): t is OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall => t.type === 'function')
      .map((t) => ({ id: t.id, type: 'function', function: { name: t.function.name, arguments: t.function.arguments } }));
    const message: AssistantMessage = { role: 'assistant', content: choice.message.content ?? null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) };
    const u = res.usage;
    return {
      message,
      finishReason: choice.finish_reason ?? 'stop',
      model: res.model || req.model,
      usage: { promptTokens: u?.prompt_tokens ?? 0, completionTokens: u?.completion_tokens ?? 0, totalTokens: u?.total_tokens ?? 0 },
    };
  }
}
