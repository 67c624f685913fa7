import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { wireError } from './wire-error';

type RequestHandler = (request: { method: string; params?: unknown }, extra: unknown) => Promise<unknown>;

/**
 * A malformed tools/call answered in the gateway's words: -32602 with `VALIDATION_FAILED` in
 * error.data.code, naming the field and what it must be. The SDK's Server checks tools/call
 * before any handler of ours runs, answering "MCP error -32602: Invalid tools/call request:"
 * and zod's issues as JSON (a client's McpError prefixes that message once more), with no code
 * of ours. So its handler, once installed, is put behind this check of the same schema; a
 * request that passes goes to it unchanged (the SDK's own check then passes too).
 */
export function checkCallsFirst(server: Server): void {
  // Private to the SDK: no public hook runs before the Server's check of tools/call, which wraps
  // the handler it is given (with its check of the result, kept). An SDK that keeps it otherwise
  // is refused here, on the first session, not left to answer in its own words unnoticed
  // (test/mcp/check-calls-first.unit.test.ts).
  const handlers = (server as unknown as { _requestHandlers?: unknown })._requestHandlers;
  if (!(handlers instanceof Map)) throw new Error("the MCP SDK's Server keeps its request handlers otherwise than in _requestHandlers (a Map): checkCallsFirst must follow the SDK upgrade");
  const map = handlers as Map<string, RequestHandler>;
  const sdkHandler = map.get('tools/call');
  if (typeof sdkHandler !== 'function') throw new Error('checkCallsFirst: the tools/call handler is not installed (call it after setRequestHandler)');
  map.set('tools/call', (request, extra) => {
    const parsed = CallToolRequestSchema.safeParse(request);
    if (parsed.success) return sdkHandler(request, extra);
    const issues = parsed.error.issues.slice(0, 3).map((issue) => {
      const field = issue.path.map(String).join('.');
      const what = field === 'params.arguments' ? "params.arguments must be an object of the tool's arguments by name (not an array, nor a JSON string)" : field || 'the request';
      return `${what}: ${issue.message}`;
    });
    return Promise.reject(wireError(ErrorCode.InvalidParams, `tools/call: ${issues.join('; ')}`, { code: 'VALIDATION_FAILED' }));
  });
}
