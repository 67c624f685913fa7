import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { redactUrl } from '../../core/errors';
import { AgentError } from '../errors';
import { estimateUsage } from './estimate-usage';
import type { AssistantMessage, Completion, CompletionRequest, LlmClient, ToolCall, Usage } from './port';
import { cutText } from '../../core/well-formed';

export type OpenAiLlmClientOptions = {
  baseURL: string;
  apiKey?: string;
  model: string;
  /** Per call, all attempts and waits between them included (createAgentRuntime: AGENT_STEP_TIMEOUT_MS); the runtime's step timeout also aborts. Default 60 s. */
  timeoutMs?: number;
  /** Attempts after the first one for a 408, 409, 429, 5xx or lost connection (LLM_MAX_RETRIES). Default 1. */
  maxRetries?: number;
};

/** The statuses the `openai` SDK retries (unless the server says otherwise in `x-should-retry`). */
function retriable(err: unknown): boolean {
  if (err instanceof OpenAI.APIConnectionError) return true;
  if (!(err instanceof OpenAI.APIError) || err.status === undefined) return false;
  const said = err.headers?.get('x-should-retry');
  if (said === 'true' || said === 'false') return said === 'true';
  return err.status === 408 || err.status === 409 || err.status === 429 || err.status >= 500;
}

/**
 * Whether the endpoint refused the request itself (a 4xx other than 408, 409 and 429 that it did
 * not ask to be retried: bad request, unknown model, key refused, context too long): asking again
 * gets the same answer, so it is LLM_REQUEST_REFUSED, not LLM_UNAVAILABLE ("try later").
 */
function refused(err: unknown): err is InstanceType<typeof OpenAI.APIError> & { status: number } {
  return err instanceof OpenAI.APIError && err.status !== undefined && err.status >= 400 && err.status < 500 && !retriable(err);
}

/**
 * What to do about a refusal (refused), for the end of its message: the setting a 401/403 or 404
 * points at, else why it was not retried.
 * @example settingToCheck(404, 'qwen2.5:7b') // ': check OPENAI_MODEL (qwen2.5:7b) and OPENAI_BASE_URL (…)'
 */
function settingToCheck(status: number, model: string): string {
  if (status === 401 || status === 403) return ': check OPENAI_API_KEY';
  if (status === 404) return `: check OPENAI_MODEL (${model}) and OPENAI_BASE_URL (an OpenAI-compatible base URL usually ends in /v1)`;
  return '; refused as a bad request, so not retried';
}

/** The shortest OPENAI_API_KEY taken for a secret (and masked where a server echoes it): real keys are far longer. */
const MIN_SECRET_KEY_CHARS = 8;

/** The wait a 429/503 asks for (`retry-after-ms`, else `Retry-After` in seconds or as an HTTP date), in ms; undefined when it asks none. */
function retryAfterMs(err: unknown): number | undefined {
  const h = err instanceof OpenAI.APIError ? err.headers : undefined;
  const ms = Number.parseFloat(h?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const v = h?.get('retry-after');
  if (!v) return undefined;
  const s = Number.parseFloat(v);
  if (Number.isFinite(s)) return s >= 0 ? s * 1000 : undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The server's own words in an HTTP error (the SDK's message is `<status> <the body's error message>`),
 * which may echo the request, so the prompt: a record under LLM_REDACTION=hash-only leaves them out.
 */
function serverTextOf(err: unknown): string | undefined {
  if (!(err instanceof OpenAI.APIError) || err.status === undefined) return undefined;
  const prefix = `${err.status} `;
  const text = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return text && text !== 'status code (no body)' ? text : undefined;
}

/** The SDK's default backoff: 0.5 s doubling per retry up to 8 s, less up to 25 % jitter. */
function backoffMs(retry: number): number {
  return Math.min(500 * 2 ** retry, 8_000) * (1 - Math.random() * 0.25);
}

/** The message's text: a string, or (some servers) an array of content parts whose text parts are joined. */
function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const texts = content.filter((p): p is { text: string } => typeof p?.text === 'string').map((p) => p.text);
  return texts.length ? texts.join('') : null;
}

/** A count the server gave: a safe integer ≥ 0 (anything else is none: events hold safe integers only). */
function reported(n: unknown): number | undefined {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The usage to record and budget: the server's counts where it gave them and an estimate for
 * each one it left out, marked `estimated` (several local servers answer without `usage`, which
 * counted 0 and slipped past every budget). A usage whose prompt is 0 tokens counted nothing (no
 * prompt is empty: the chat template alone has tokens). The total is at least its parts' sum.
 */
function usageOf(u: Partial<Record<'prompt_tokens' | 'completion_tokens' | 'total_tokens', unknown>> | undefined, req: CompletionRequest, message: AssistantMessage): Usage {
  const counted = (reported(u?.prompt_tokens) ?? 0) > 0 ? u : undefined;
  const prompt = reported(counted?.prompt_tokens);
  const completion = reported(counted?.completion_tokens);
  const estimate = prompt === undefined || completion === undefined ? estimateUsage(req, message) : undefined;
  const promptTokens = prompt ?? estimate!.promptTokens;
  const completionTokens = completion ?? estimate!.completionTokens;
  const totalTokens = Math.max(reported(u?.total_tokens) ?? 0, promptTokens + completionTokens);
  return { promptTokens, completionTokens, totalTokens, ...(estimate ? { estimated: true as const } : {}) };
}

/**
 * The LLM adapter over the `openai` SDK, for any OpenAI-compatible endpoint (OpenAI, vLLM,
 * Ollama, llama.cpp server): chat completions with function tools, non-streaming (a stream
 * would carry usage only if asked with `stream_options.include_usage`).
 */
export class OpenAiLlmClient implements LlmClient {
  readonly provider: string;
  readonly model: string;
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiLlmClientOptions) {
    this.model = options.model;
    this.provider = `openai-compatible:${new URL(options.baseURL).host}`;
    // Local servers accept any key; the SDK insists on one being set. Its own retries are off: it
    // slept whatever Retry-After said (an hour, say) deaf to the call's signal, so neither the step
    // timeout nor a cancel nor a stop could end the call. complete() retries as it did, abortably.
    this.client = new OpenAI({ baseURL: options.baseURL, apiKey: options.apiKey || 'unused', timeout: this.timeoutMs, maxRetries: 0 });
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 60_000;
  }

  /**
   * One chat completion. A 408, 409, 429, 5xx or lost connection is tried again up to
   * `maxRetries` times, after the wait the server asks for (Retry-After) or the SDK's backoff,
   * all within `timeoutMs`: a wait that would end past it fails the call at once, saying so.
   * Aborting `req.signal` ends the call, in a request or in a wait. Throws LLM_REQUEST_REFUSED
   * at once for another 4xx (the provider's status and words, what to check), LLM_UNAVAILABLE
   * (the last error, and the attempts made) or LLM_RESPONSE_INVALID.
   */
  async complete(req: CompletionRequest): Promise<Completion> {
    const body = {
      model: req.model,
      messages: req.messages as OpenAI.Chat.Completions.ChatCompletionMessageParam[],
      ...(req.tools.length ? { tools: req.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })) } : {}),
      temperature: req.temperature,
      max_tokens: req.maxTokens,
    };
    const giveUpAt = Date.now() + this.timeoutMs;
    const maxRetries = this.options.maxRetries ?? 1;
    let res: OpenAI.Chat.Completions.ChatCompletion;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await this.client.chat.completions.create(body, { signal: req.signal, timeout: Math.max(1, giveUpAt - Date.now()) });
        break;
      } catch (err) {
        if (req.signal?.aborted) throw err;
        // The SDK parses the body itself: a 200 that is not JSON surfaces as a SyntaxError.
        // The parser's message quotes the body: marked, so a record under LLM_REDACTION=hash-only can leave it out.
        if (err instanceof SyntaxError) throw this.invalid(`answered with a body that is not JSON (${err.message})`, err, err.message);
        if (refused(err)) throw this.refusal(err, settingToCheck(err.status, req.model));
        if (!retriable(err) || attempt > maxRetries) throw this.unavailable(err, attempt);
        const asked = retryAfterMs(err);
        const wait = asked ?? backoffMs(attempt - 1);
        if (Date.now() + wait >= giveUpAt) {
          const why = asked !== undefined ? `it asked to be retried after Retry-After ${+(asked / 1000).toFixed(3)} s` : `its next retry would come after ${Math.round(wait)} ms`;
          throw this.unavailable(err, attempt, `; ${why}, past this call's AGENT_STEP_TIMEOUT_MS=${this.timeoutMs} ms, so it is not retried`);
        }
        await sleep(wait, undefined, { signal: req.signal });
      }
    }
    // OpenAI-compatible servers vary: check the shape rather than trust the SDK's types.
    const choice = Array.isArray(res?.choices) ? res.choices[0] : undefined;
    if (!choice) throw this.invalid('returned no choice');
    if (!choice.message || typeof choice.message !== 'object') throw this.invalid('returned a choice without a message');
    const requested = Array.isArray(choice.message.tool_calls) ? choice.message.tool_calls : [];
    // A call without its type (null or left out: some vLLM, Ollama and Azure servers) is a function call all the same.
    const toolCalls: ToolCall[] = requested
      .filter((t): t is OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall => (t?.type === 'function' || t?.type == null) && typeof (t as { function?: { name?: unknown } })?.function?.name === 'string')
      .map((t) => ({
        id: typeof t.id === 'string' ? t.id : '',
        type: 'function',
        // Some servers send the arguments as an object: the model still meant them.
        function: { name: t.function.name, arguments: typeof t.function.arguments === 'string' ? t.function.arguments : JSON.stringify(t.function.arguments ?? {}) },
      }));
    const content = textOf(choice.message.content);
    // Nothing it asked for can be made and nothing said: not an (empty) final answer to sign.
    if (!toolCalls.length && !content && (requested.length || choice.finish_reason === 'tool_calls')) {
      throw this.invalid(`asked for ${requested.length} tool call(s) none of which is a function call with a name (finish_reason ${JSON.stringify(choice.finish_reason)}), and answered no text`);
    }
    const message: AssistantMessage = { role: 'assistant', content, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) };
    return {
      message,
      finishReason: typeof choice.finish_reason === 'string' && choice.finish_reason ? cutText(choice.finish_reason, 100) : 'stop',
      model: typeof res.model === 'string' && res.model ? cutText(res.model, 200) : req.model,
      // A server's odd count is not worth failing the task; nor is its missing one worth a free call.
      usage: usageOf(res.usage ?? undefined, req, message),
    };
  }

  private unavailable(err: unknown, attempts: number, more = ''): AgentError {
    const tries = attempts > 1 ? ` (after ${attempts} attempts, LLM_MAX_RETRIES=${this.options.maxRetries ?? 1})` : '';
    const serverText = this.withoutKey(serverTextOf(err));
    return new AgentError('LLM_UNAVAILABLE', `LLM at ${redactUrl(this.options.baseURL)}: ${this.withoutKey((err as Error).message)}${tries}${more}`, { cause: err, ...(serverText ? { details: { serverText } } : {}) });
  }

  /** LLM_REQUEST_REFUSED: the provider's status and its words (`details.providerStatus`, `details.serverText`), then what to check. */
  private refusal(err: InstanceType<typeof OpenAI.APIError> & { status: number }, more: string): AgentError {
    const serverText = this.withoutKey(serverTextOf(err));
    return new AgentError('LLM_REQUEST_REFUSED', `LLM at ${redactUrl(this.options.baseURL)}: ${this.withoutKey(err.message)}${more}`, {
      cause: err,
      details: { providerStatus: err.status, ...(serverText ? { serverText } : {}) },
    });
  }

  /**
   * `text` with OPENAI_API_KEY replaced by `***`: a server (a proxy, say) may echo the key it refuses.
   * A key shorter than MIN_SECRET_KEY_CHARS is a placeholder for a server that checks none (Ollama's
   * `ollama`, `x`): no secret, and replacing it would garble the provider's words (an `ollama` key in a model name).
   */
  private withoutKey(text: string): string;
  private withoutKey(text: string | undefined): string | undefined;
  private withoutKey(text: string | undefined): string | undefined {
    const key = this.options.apiKey;
    return text && key && key.length >= MIN_SECRET_KEY_CHARS ? text.split(key).join('***') : text;
  }

  /** `serverText`: the part of `what` that quotes what the server sent (details.serverText; see recordedError). */
  private invalid(what: string, cause?: unknown, serverText?: string): AgentError {
    return new AgentError('LLM_RESPONSE_INVALID', `LLM at ${redactUrl(this.options.baseURL)} ${what}`, { ...(cause === undefined ? {} : { cause }), ...(serverText ? { details: { serverText } } : {}) });
  }
}
