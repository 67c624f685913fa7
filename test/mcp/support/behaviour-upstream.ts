import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { mcpSessions, readJson } from './mcp-sessions';

/** A 1×1 PNG, base64. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

/** What `media` answers: every content type, with annotations and _meta, plus structured content. */
export const MEDIA_RESULT: CallToolResult = {
  content: [
    { type: 'text', text: 'all kinds', annotations: { audience: ['user'], priority: 0.5 } },
    { type: 'image', data: PNG, mimeType: 'image/png', _meta: { 'example.com/source': 'camera' } },
    { type: 'audio', data: 'UklGRiQAAABXQVZF', mimeType: 'audio/wav' },
    { type: 'resource_link', uri: 'file:///reports/q3.pdf', name: 'q3.pdf', mimeType: 'application/pdf', description: 'Q3 report', size: 1234 },
    { type: 'resource', resource: { uri: 'file:///notes.txt', mimeType: 'text/plain', text: 'notes' } },
    { type: 'resource', resource: { uri: 'file:///blob.bin', mimeType: 'application/octet-stream', blob: 'AAEC' } },
  ],
  structuredContent: { count: 6, kinds: ['text', 'image', 'audio', 'resource_link', 'resource', 'resource'] },
  _meta: { 'example.com/trace': 'abc' },
};

export type BehaviourUpstream = {
  url: string;
  /** Calls the upstream saw cancelled: `hold` ones by their `id` argument, `progress` ones as `progress <step>`. */
  cancelled: string[];
  /** Names of `hold` calls that started (their `id` argument). */
  started: string[];
  /** Add a tool named `name` to every session (McpServer sends notifications/tools/list_changed). */
  addTool(name: string): void;
  /** Fields to add to tool `name` in every later tools/list answer (icons, _meta, execution…). */
  setToolExtras(name: string, extras: Partial<Tool>): void;
  /** Delay the answer of the next tools/list by `ms`, after its list is made (an answer that arrives late). */
  delayNextList(ms: number): void;
  /** Leave pings unanswered (a server that runs tools but fails its health check) until called with false. */
  holdPings(hold: boolean): void;
  /** How many pings (health checks) it was sent. */
  readonly pings: number;
  close(): Promise<void>;
};

/**
 * An upstream over streamable HTTP answering in SSE (so its progress reaches the gateway), with
 * tools that show what the gateway passes on: `hold` runs until cancelled, `progress` reports
 * progress and logs, `media` answers every content type with structured content. `port`: listen
 * there (an upstream started again where it was), else on any free port.
 */
export async function startBehaviourUpstream(options: { port?: number } = {}): Promise<BehaviourUpstream> {
  const servers: McpServer[] = [];
  const extraTools: string[] = [];
  const cancelled: string[] = [];
  const started: string[] = [];
  const listDelays: number[] = [];
  const toolExtras = new Map<string, Partial<Tool>>();
  let pingsHeld = false;
  let pings = 0;

  const addTo = (server: McpServer, name: string) =>
    server.registerTool(name, { description: `Added later: ${name}.`, inputSchema: {} }, async () => ({ content: [{ type: 'text', text: name }] }));

  function build(): McpServer {
    const server = new McpServer({ name: 'behaviour', version: '1.0.0' }, { capabilities: { logging: {} } });
    server.registerTool('hold', { description: 'Run until cancelled (at most ms, default 20 s).', inputSchema: { id: z.string(), ms: z.number().int().optional() } }, async ({ id, ms }, extra) => {
      started.push(id);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms ?? 20_000);
        extra.signal.addEventListener('abort', () => {
          cancelled.push(id);
          clearTimeout(t);
          resolve();
        });
      });
      return { content: [{ type: 'text', text: `held ${id}` }] };
    });
    server.registerTool('progress', { description: 'Report progress in steps (everyMs apart), then answer.', inputSchema: { steps: z.number().int(), everyMs: z.number().int().optional() } }, async ({ steps, everyMs }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (everyMs) await new Promise((r) => setTimeout(r, everyMs));
        if (extra.signal.aborted) {
          cancelled.push(`progress ${i}`);
          break;
        }
        if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps, message: `step ${i}` } });
        await server.sendLoggingMessage({ level: 'info', data: `step ${i}` }, extra.sessionId);
      }
      return { content: [{ type: 'text', text: `done ${steps}` }] };
    });
    server.registerTool(
      'media',
      {
        description: 'Answer with every content type.',
        inputSchema: {},
        outputSchema: { count: z.number().int(), kinds: z.array(z.string()) },
      },
      async () => MEDIA_RESULT as never,
    );
    for (const name of extraTools) addTo(server, name);
    type Handler = (req: unknown, extra: unknown) => Promise<unknown>;
    const handlers = (server.server as unknown as { _requestHandlers: Map<string, Handler> })._requestHandlers;
    const list = handlers.get('tools/list')!;
    handlers.set('tools/list', async (req, extra) => {
      const delay = listDelays.shift();
      const answer = (await list(req, extra)) as { tools: Tool[] };
      // Fields the SDK's McpServer does not list (icons…), as an upstream of a newer SDK would.
      answer.tools = answer.tools.map((t) => ({ ...t, ...(toolExtras.get(t.name) ?? {}) }));
      if (delay) await new Promise((r) => setTimeout(r, delay));
      return answer;
    });
    const ping = handlers.get('ping')!;
    handlers.set('ping', async (req, extra) => {
      pings++;
      while (pingsHeld) await new Promise((r) => setTimeout(r, 20));
      return ping(req, extra);
    });
    servers.push(server);
    return server;
  }

  const sessions = mcpSessions(build);
  const http: Server = createServer(async (req, res) => {
    try {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      await sessions.handle(req, res, body);
    } catch (err) {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    cancelled,
    started,
    setToolExtras(name, extras) {
      toolExtras.set(name, extras);
    },
    delayNextList(ms) {
      listDelays.push(ms);
    },
    holdPings(hold) {
      pingsHeld = hold;
    },
    get pings() {
      return pings;
    },
    addTool(name) {
      extraTools.push(name);
      for (const s of servers) if (s.isConnected()) addTo(s, name);
    },
    close: async () => {
      await sessions.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
