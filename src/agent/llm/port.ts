/** OpenAI wire shapes (what every OpenAI-compatible server speaks), kept minimal and SDK-free. */
export type ToolCall = { id: string; type: 'function'; function: { name: string; arguments: string } };

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

export type ToolSpec = { name: string; description?: string; parameters: Record<string, unknown> };

/**
 * Tokens one call used, as the server counted them; `estimated` when the server left some or all
 * of them out and the adapter counted an estimate instead (estimateUsage), so budgets still hold.
 */
export type Usage = { promptTokens: number; completionTokens: number; totalTokens: number; estimated?: true };

export type CompletionRequest = {
  messages: ChatMessage[];
  tools: ToolSpec[];
  model: string;
  temperature: number;
  maxTokens: number;
  signal?: AbortSignal;
};

export type Completion = {
  message: AssistantMessage;
  finishReason: string;
  usage: Usage;
  /** The model that answered (as the server names it). */
  model: string;
};

/**
 * A chat model with tool calling. Adapter: OpenAiLlmClient (any OpenAI-compatible base URL).
 * Implementations throw AgentError LLM_UNAVAILABLE when the endpoint fails (maybe for a while) and
 * LLM_REQUEST_REFUSED when it refuses the request itself (a 4xx other than 408/409/429).
 */
export interface LlmClient {
  /** Recorded as InferenceCompleted.provider (e.g. the base URL's host). */
  readonly provider: string;
  readonly model: string;
  complete(req: CompletionRequest): Promise<Completion>;
}
