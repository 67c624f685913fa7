import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import inject from 'light-my-request';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** An HTTP answer to write as is. */
export type SseAnswer = { status: number; headers: Record<string, string>; body: string | Readable };

/** Headers not passed on to the in-process request: light-my-request sets the length of the body it sends. */
const HOP = new Set(['content-length', 'transfer-encoding', 'connection', 'accept']);

/**
 * A POST that the SDK transport answers with JSON (it was made with `enableJsonResponse`), for a
 * client that takes only `text/event-stream`: the request goes through the transport's public
 * `handleRequest` as in-process fake HTTP (light-my-request, as replayInitialize does), and a JSON
 * answer comes back as the SSE stream `asSse` makes of its messages (a batch's: one event each;
 * SessionTransport.answerWhole, which records them for a client that resumes the stream). Other
 * answers (202, and refusals, which are JSON-RPC errors with their status) are passed on as they
 * are. Used for what the fast path of SessionTransport leaves to the SDK: initialize, batches.
 *
 * @example const answer = await sdkAnswerAsSse(sdk, request.raw.headers, request.url, request.body, auth, (m) => transport.answerWhole(m))
 */
export async function sdkAnswerAsSse(
  sdk: StreamableHTTPServerTransport,
  headers: IncomingHttpHeaders,
  url: string,
  body: unknown,
  auth: AuthInfo,
  asSse: (messages: JSONRPCMessage[]) => Readable,
): Promise<SseAnswer> {
  const sent: Record<string, string> = { accept: 'application/json, text/event-stream' };
  for (const [name, value] of Object.entries(headers)) if (!HOP.has(name) && typeof value === 'string') sent[name] = value;
  const res = await inject(
    (req, out) => {
      sdk.handleRequest(Object.assign(req as IncomingMessage, { auth }), out, body).catch((err: unknown) => out.destroy(err as Error));
    },
    { method: 'POST', url, headers: sent, payload: JSON.stringify(body) },
  );
  const out: Record<string, string> = {};
  for (const name of ['content-type', 'mcp-session-id', 'allow']) {
    const value = res.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  if (res.statusCode !== 200 || !/^application\/json/i.test(out['content-type'] ?? '')) return { status: res.statusCode, headers: out, body: res.payload };
  const parsed: unknown = JSON.parse(res.payload);
  const messages = (Array.isArray(parsed) ? parsed : [parsed]) as JSONRPCMessage[];
  return { status: 200, headers: { ...out, 'content-type': 'text/event-stream', 'cache-control': 'no-store, no-transform' }, body: asSse(messages) };
}
