import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

const readOnly = { readOnlyHint: true, idempotentHint: true };

/**
 * The bundled example tools, shared by the stdio and HTTP examples. `testTools` adds tools
 * that misbehave on purpose (crash, hang, protocol error) so the gateway's resilience can be tested.
 */
export function buildExampleServer(opts: { name?: string; testTools?: boolean } = {}): McpServer {
  const server = new McpServer({ name: opts.name ?? 'openmcp-examples', version: '0.1.0' });
  server.registerTool(
    'echo',
    { description: 'Echo the given text back unchanged.', inputSchema: { text: z.string() }, annotations: readOnly },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  server.registerTool(
    'add',
    // With an outputSchema, a client checks the structuredContent against it (the gateway passes both on).
    { description: 'Add two integers and return the sum.', inputSchema: { a: z.number().int(), b: z.number().int() }, outputSchema: { sum: z.number().int() }, annotations: readOnly },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }),
  );
  server.registerTool(
    'reverse',
    { description: 'Reverse a string of text.', inputSchema: { text: z.string() }, annotations: readOnly },
    async ({ text }) => ({ content: [{ type: 'text', text: [...text].reverse().join('') }] }),
  );
  server.registerTool(
    'now',
    { description: 'Current server time as an ISO 8601 string.', inputSchema: {}, annotations: { readOnlyHint: true } },
    async () => ({ content: [{ type: 'text', text: new Date().toISOString() }] }),
  );
  if (!opts.testTools) return server;

  server.registerTool(
    'fail',
    { description: 'Always answers with a tool-level error result.', inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: 'text', text: message }], isError: true }),
  );
  server.registerTool(
    'sleep',
    {
      description: 'Wait for ms milliseconds, then answer (stops waiting when the call is cancelled); with progressEveryMs, report progress that often to a caller that asked for it.',
      inputSchema: { ms: z.number().int().min(0), progressEveryMs: z.number().int().min(10).optional() },
      annotations: readOnly,
    },
    async ({ ms, progressEveryMs }, { signal, _meta, sendNotification }) => {
      const progressToken = _meta?.progressToken;
      if (progressEveryMs === undefined || progressToken === undefined) await sleep(ms, undefined, { signal });
      else {
        // Each progress notification restarts the gateway's call timeout (MCP_CALL_TIMEOUT_MS).
        for (let done = 0; done < ms; ) {
          const step = Math.min(progressEveryMs, ms - done);
          await sleep(step, undefined, { signal });
          done += step;
          await sendNotification({ method: 'notifications/progress', params: { progressToken, progress: done, total: ms, message: `slept ${done} of ${ms} ms` } });
        }
      }
      return { content: [{ type: 'text', text: `slept ${ms}` }] };
    },
  );
  server.registerTool(
    'hold',
    {
      description: 'Stay in the middle of the call until a file exists at path, in the temporary directory, then answer (a test lets the call go by creating the file; stops waiting when the call is cancelled).',
      inputSchema: { path: z.string().min(1) },
    },
    async ({ path }, { signal }) => {
      // Any path would tell a caller whether any file on this host exists.
      const inTmp = relative(resolve(tmpdir()), resolve(path));
      if (!inTmp || inTmp === '..' || inTmp.startsWith(`..${sep}`) || isAbsolute(inTmp)) throw new Error(`hold: ${path} is not in the temporary directory (${tmpdir()})`);
      while (!existsSync(path)) await sleep(20, undefined, { signal });
      return { content: [{ type: 'text', text: `released by ${path}` }] };
    },
  );
  server.registerTool(
    'crash',
    { description: 'Exit the server process in the middle of the call.', inputSchema: {} },
    async () => {
      setTimeout(() => process.exit(3), 5);
      await new Promise(() => {});
      return { content: [] };
    },
  );
  let n = 0;
  server.registerTool(
    'count',
    { description: 'Count calls made to this process (read-only, idempotent by declaration, for cache tests).', inputSchema: { key: z.string() }, annotations: readOnly },
    async ({ key }) => ({ content: [{ type: 'text', text: `${key}:${++n}` }] }),
  );
  answerRejectWithRpcError(server);
  return server;
}

/**
 * McpServer turns anything a tool handler throws into an `isError` result. To show a real
 * JSON-RPC error from an upstream, `reject` is answered in front of McpServer's own tools/call handler.
 */
function answerRejectWithRpcError(server: McpServer): void {
  type Handler = (req: { params: { name: string; arguments?: Record<string, unknown> } }, extra: unknown) => Promise<unknown>;
  const handlers = (server.server as unknown as { _requestHandlers: Map<string, Handler> })._requestHandlers;
  const inner = handlers.get('tools/call')!;
  handlers.set('tools/call', async (req, extra) => {
    if (req.params.name !== 'reject') return inner(req, extra);
    // The SDK sends error.message, which McpError reads "MCP error <code>: <message>": the caller's
    // SDK would prefix it once more. Sent as given, the caller reads "MCP error -32602: <message>".
    const message = String(req.params.arguments?.message ?? 'rejected');
    throw Object.assign(new McpError(ErrorCode.InvalidParams, message), { message });
  });
  const listInner = handlers.get('tools/list')!;
  handlers.set('tools/list', async (req, extra) => {
    const r = (await listInner(req, extra)) as { tools: unknown[] };
    return {
      ...r,
      tools: [
        ...r.tools,
        { name: 'reject', description: 'Always answers with a JSON-RPC error (invalid params).', inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } },
      ],
    };
  });
}
