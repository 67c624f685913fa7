import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer of the fake: text, tool calls, or an HTTP error; optionally late or never. */
export type FakeReply = {
  content?: string;
  /** Arguments as an object (sent as its JSON) or as the exact text a model produced (maybe not JSON). */
  toolCalls?: { id?: string; name: string; arguments: Record<string, unknown> | string }[];
  /** finish_reason of the choice (default: tool_calls when there are tool calls, else stop). */
  finishReason?: string;
  /** Answer 200 with exactly this body text instead (a broken or odd server: not JSON, no choices). */
  raw?: string;
  /**
   * Default: some tokens, with total_tokens. `null`: no `usage` at all (as several local servers
   * answer, and streams unless asked). With only some counts, exactly those are sent
   * (total_tokens added only when both prompt_tokens and completion_tokens are given).
   */
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  /** Answer with this HTTP status and an OpenAI-style error body instead. */
  status?: number;
  /** The error body's message with `status` (default `scripted error <status>`): some servers quote the request in it. */
  errorMessage?: string;
  /** Extra response headers (e.g. `retry-after` with a `status`). */
  headers?: Record<string, string>;
  delayMs?: number;
  /** Never answer (until the client gives up or the server closes): a model that hangs. */
  hang?: boolean;
  /** The model the answer names (default: the one asked for), as a provider names a dated snapshot (`gpt-4o` answered by `gpt-4o-2024-08-06`). */
  model?: string;
};

export type ChatRequest = {
  model: string;
  messages: { role: string; content?: string | null; tool_calls?: unknown[]; tool_call_id?: string }[];
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  temperature?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
};

/** The contents of a request's tool messages (the tool results the model is told), in order. */
export const toolMessages = (req: ChatRequest): string[] => req.messages.filter((m) => m.role === 'tool').map((m) => String(m.content));

/** A script: replies in order, or a function of the request (and its 0-based index). */
export type FakeScript = FakeReply[] | ((req: ChatRequest, index: number) => FakeReply);

export type OpenAiFake = {
  /** Base URL for the SDK (`…/v1`). */
  baseURL: string;
  requests: ChatRequest[];
  /** Authorization headers seen (to check the key is sent). */
  authorizations: string[];
  setScript(script: FakeScript): void;
  close(): Promise<void>;
};

/** OpenAI's rule for a function name (Anthropic's tool names follow the same). */
export const OPENAI_FUNCTION_NAME = /^[a-zA-Z0-9_-]+$/;

/** The error body OpenAI answers (with 400) for the first tool whose name breaks the rule, if any. */
function invalidToolName(body: ChatRequest): { message: string; type: string; param: string; code: string } | undefined {
  for (const [i, t] of (body.tools ?? []).entries()) {
    const name = t.function?.name ?? '';
    const param = `tools[${i}].function.name`;
    if (name.length > 64) {
      return { message: `Invalid '${param}': string too long. Expected a string with maximum length 64, but got a string with length ${name.length} instead.`, type: 'invalid_request_error', param, code: 'string_above_max_length' };
    }
    if (!OPENAI_FUNCTION_NAME.test(name)) {
      return { message: `Invalid '${param}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, type: 'invalid_request_error', param, code: 'invalid_value' };
    }
  }
  return undefined;
}

/**
 * An OpenAI-compatible HTTP server (POST /v1/chat/completions, GET /v1/models) that answers
 * from a script, so the real `openai` SDK can be driven over real HTTP in tests.
 * Non-streaming only. When the script runs out it answers 500 (a test should notice). A request
 * with a tool name OpenAI refuses is answered 400 as OpenAI does, without using a scripted reply.
 */
export async function startOpenAiFake(script: FakeScript = []): Promise<OpenAiFake> {
  let current = script;
  let served = 0;
  const requests: ChatRequest[] = [];
  const authorizations: string[] = [];
  const hanging = new Set<ServerResponse>();

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && path.endsWith('/models')) return send(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'test' }] });
      if (req.method !== 'POST' || !path.endsWith('/chat/completions')) return send(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error' } });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
      requests.push(body);
      authorizations.push(String(req.headers.authorization ?? ''));
      // As the real API: one tool whose name breaks the rule costs the whole request a 400.
      const invalid = invalidToolName(body);
      if (invalid) return send(res, 400, { error: invalid });
      const index = served++;
      const reply = typeof current === 'function' ? current(body, index) : current[index];
      if (!reply) return send(res, 500, { error: { message: `openai-fake: script has no reply #${index}`, type: 'server_error' } });
      if (reply.hang) {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      const answer = () => {
        if (reply.status) return send(res, reply.status, { error: { message: reply.errorMessage ?? `scripted error ${reply.status}`, type: 'server_error', code: null } }, reply.headers);
        if (reply.raw !== undefined) {
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(reply.raw);
        }
        const toolCalls = reply.toolCalls?.map((t, i) => ({
          id: t.id ?? `call_${index}_${i}`,
          type: 'function',
          function: { name: t.name, arguments: typeof t.arguments === 'string' ? t.arguments : JSON.stringify(t.arguments) },
        }));
        const u = reply.usage === undefined ? { prompt_tokens: 10 + (JSON.stringify(body.messages).length % 50), completion_tokens: 5 } : reply.usage;
        const whole = u && u.total_tokens === undefined && u.prompt_tokens !== undefined && u.completion_tokens !== undefined;
        const usage = u === null ? {} : { usage: whole ? { ...u, total_tokens: u.prompt_tokens! + u.completion_tokens! } : u };
        send(res, 200, {
          id: `chatcmpl-${index}`,
          object: 'chat.completion',
          created: 1_700_000_000,
          model: reply.model ?? body.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: reply.content ?? null, ...(toolCalls?.length ? { tool_calls: toolCalls } : {}), refusal: null },
              finish_reason: reply.finishReason ?? (toolCalls?.length ? 'tool_calls' : 'stop'),
              logprobs: null,
            },
          ],
          ...usage,
        });
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    authorizations,
    setScript(s) {
      current = s;
      served = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
