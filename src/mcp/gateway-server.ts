import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolRequest,
  CreateMessageResultSchema,
  CreateMessageResultWithToolsSchema,
  ElicitResultSchema,
  ErrorCode,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  McpError,
  SetLevelRequestSchema,
  type CallToolResult,
  type LoggingLevel,
  type Progress,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { InvalidCursorError, OpenMcpError } from '../core/errors';
import { callerCannotTake, type AskCaller } from './caller-requests';
import { checkCallsFirst } from './check-calls-first';
import { McpGatewayError, UpstreamProtocolError } from './errors';
import type { McpGateway, UpstreamLog } from './gateway';
import { MAX_QUEUED_LOG_MESSAGES } from './log-relay';
import { sortedByName, toolsPage } from './tools-page';
import { wireError } from './wire-error';
import { correlationIdOf } from './request-correlation';
import type { CallContext, CatalogTool } from './types';

export const SEARCH_TOOLS_NAME = 'search_tools';

/**
 * tools/call with its params unchecked. The SDK parses a request with the handler's schema first
 * and answers a failure as -32603 Internal error with a zod dump; its Server then checks
 * tools/call against CallToolRequestSchema itself, answering -32602 Invalid params as the spec says.
 */
const LenientCallToolRequestSchema = CallToolRequestSchema.extend({ params: z.unknown() });

/** logging/setLevel and tools/list with their params unchecked, so that a bad level or cursor is -32602 (see above), not -32603. */
const LenientSetLevelRequestSchema = SetLevelRequestSchema.extend({ params: z.unknown() });
const LenientListToolsRequestSchema = ListToolsRequestSchema.extend({ params: z.unknown().optional() });

/**
 * The initialize answer's `instructions`, which MCP hosts may give their model: how the
 * aggregated tools are named, that search_tools finds the few a task needs, and that calls are audited.
 */
export const GATEWAY_INSTRUCTIONS =
  'OpenMCP-Chain gateway: the tools of several MCP servers behind one endpoint, each named `<server>__<tool>`. ' +
  `When the tool you need is not in the list, or the list is long, call \`${SEARCH_TOOLS_NAME}\` with a short description of the task: ` +
  'it returns the best few tools with their input schemas, which you then call by those names. ' +
  'Every tool call is recorded in an audit log before its result is returned.';

const searchToolsTool: Tool = {
  name: SEARCH_TOOLS_NAME,
  description:
    'Find the tools you need among every tool this gateway offers: describe the task in words and get the best few tools with their input schemas. Call them by the returned names.',
  inputSchema: {
    type: 'object',
    properties: {
      query: { type: 'string', description: 'What you want to do, e.g. "open an issue in a GitHub repository".' },
      k: { type: 'integer', minimum: 1, maximum: 20, description: 'How many tools to return (default 5).' },
    },
    required: ['query'],
  },
  annotations: { readOnlyHint: true, idempotentHint: true },
};

export function toMcpTool(t: CatalogTool): Tool {
  const tool: Tool = { name: t.name, inputSchema: t.inputSchema as Tool['inputSchema'] };
  if (t.title) tool.title = t.title;
  if (t.description) tool.description = t.description;
  if (t.outputSchema) tool.outputSchema = t.outputSchema as Tool['outputSchema'];
  const a: Record<string, unknown> = Object.fromEntries(Object.entries(t.annotations).filter(([, v]) => v !== undefined));
  // Clients of protocol versions before 2025-06-18 know the title only as annotations.title.
  if (t.title) a.title = t.title;
  if (Object.keys(a).length) tool.annotations = a;
  if (t.icons) tool.icons = t.icons;
  if (t.meta) tool._meta = t.meta;
  return tool;
}

/** RFC 5424 severities in MCP's order, least severe first. */
const SEVERITY = new Map<LoggingLevel, number>(LoggingLevelSchema.options.map((level, i) => [level, i]));

/**
 * The catalog's tools in wire shape, sorted by name (tools/list pages through them by name). The
 * catalog hands out the same array for a tenant until it changes, so this runs once per change,
 * for every session of the tenant together; a replaced array is collected with its entry.
 */
const wireCache = new WeakMap<CatalogTool[], Tool[]>();
function wireTools(list: CatalogTool[]): Tool[] {
  let wire = wireCache.get(list);
  if (!wire) {
    wire = sortedByName(list.map(toMcpTool));
    wireCache.set(list, wire);
  }
  return wire;
}

/** The gateway's errors as MCP (JSON-RPC) errors; an upstream's own JSON-RPC error keeps its code and message. */
export function toMcpError(err: unknown): McpError {
  if (err instanceof McpError) return err;
  if (err instanceof UpstreamProtocolError) return wireError(err.rpcCode, err.rpcMessage, err.rpcData);
  if (err instanceof McpGatewayError && err.code === 'MCP_TOOL_NOT_FOUND') return wireError(ErrorCode.InvalidParams, err.message, { code: err.code });
  if (err instanceof OpenMcpError) {
    const code = err.status < 500 ? ErrorCode.InvalidParams : ErrorCode.InternalError;
    return wireError(code, err.message, { code: err.code });
  }
  return wireError(ErrorCode.InternalError, 'internal error');
}

/**
 * Where a client's logging/setLevel is kept beyond its server object: on /mcp, the session
 * directory, so that the replica holding the session's GET stream (which relays the log messages)
 * honours a level set through another replica.
 */
export type LogLevelStore = {
  save(level: LoggingLevel): Promise<void>;
  /** The level last saved, or undefined when none was set. */
  load(): Promise<LoggingLevel | undefined>;
  /** The level is read again before relaying a log message once it was read longer ago than this (ms). */
  freshMs: number;
};

export type GatewayServerOptions = {
  /** Told when a tools/call starts and ends (a session with a call running is not idle). */
  activity?: { begin(): void; end(): void };
  /**
   * Messages written for this client that its connection has not taken yet (on /mcp: queued on
   * the session's GET stream, SessionTransport.queuedOnGetStream). With those of this server not
   * yet flushed (stdio: stdout waiting to drain), log messages are dropped for the client while
   * MAX_QUEUED_LOG_MESSAGES wait: one that does not read costs a bounded amount.
   */
  queued?: () => number;
  /**
   * Whether log messages can reach this client through this server now (on /mcp: this replica
   * holds the session's GET stream). When false a message is neither relayed nor is the level
   * read for it. Default: always.
   */
  streaming?: () => boolean;
  logLevel?: LogLevelStore;
  /**
   * Checked before each tools/list and tools/call: throws (an OpenMcpError, e.g. UNAUTHENTICATED)
   * when the credentials this server acts as are no longer valid. For stdio, whose one key was
   * checked at start; /mcp authenticates every request itself.
   */
  authorize?: () => Promise<void>;
};

/**
 * An MCP server (SDK low-level `Server`) showing one caller the gateway: the tenant's aggregated
 * tools plus `search_tools`, calls audited under the caller's identity,
 * notifications/tools/list_changed when the tenant's catalog changes, and the log messages of
 * the tenant's own upstreams (at or above the level the client set with logging/setLevel; all
 * until it sets one; none while the client leaves too many unread). Call `dispose` on close.
 */
export function createGatewayServer(gateway: McpGateway, ctx: CallContext, options: GatewayServerOptions = {}): { server: Server; dispose(): void } {
  const activity = options.activity ?? { begin() {}, end() {} };
  const store = options.logLevel;
  const server = new Server({ name: 'openmcp-gateway', version: '0.1.0' }, { capabilities: { tools: { listChanged: true }, logging: {} }, instructions: GATEWAY_INSTRUCTIONS });
  // One server per client (session or stdio): the level is this client's alone.
  let minimum: number | undefined;
  // Bumped by each logging/setLevel: a read of the store begun before it must not undo it.
  let setCount = 0;
  let readAt = -Infinity;
  let reading: Promise<void> | undefined;
  server.setRequestHandler(LenientSetLevelRequestSchema, async (request) => {
    const level = (request.params as { level?: unknown } | undefined)?.level;
    const severity = typeof level === 'string' ? SEVERITY.get(level as LoggingLevel) : undefined;
    if (severity === undefined) throw wireError(ErrorCode.InvalidParams, `logging/setLevel: level must be one of ${LoggingLevelSchema.options.join(', ')}`, { code: 'VALIDATION_FAILED' });
    if (store) {
      try {
        await store.save(level as LoggingLevel);
      } catch (err) {
        throw toMcpError(err);
      }
      readAt = performance.now();
    }
    setCount++;
    minimum = severity;
    return {};
  });

  server.setRequestHandler(LenientListToolsRequestSchema, async (request) => {
    try {
      const cursor = (request.params as { cursor?: unknown } | undefined)?.cursor;
      if (options.authorize) await options.authorize();
      // A first start's servers, registering: listed once discovered, if that is within LISTING_HOLD_MS
      // of the start (holdListing); else later, with notifications/tools/list_changed.
      const held = gateway.listingHeld();
      if (held) await held;
      if (cursor !== undefined && typeof cursor !== 'string') throw new InvalidCursorError('cursor: not a string; pass back the nextCursor of a previous tools/list page unchanged');
      return toolsPage([searchToolsTool], wireTools(gateway.listTools(ctx.tenant)), gateway.toolsPageSize, cursor);
    } catch (err) {
      throw toMcpError(err);
    }
  });

  server.setRequestHandler(LenientCallToolRequestSchema, async (lenient, extra): Promise<CallToolResult> => {
    // Checked by the SDK's own tools/call wrapper (CallToolRequestSchema) before this runs.
    const req = lenient as CallToolRequest;
    const { name, arguments: args = {} } = req.params;
    // The caller's progress token is relayed with the upstream's progress (which carries the gateway's own token).
    const token = req.params._meta?.progressToken;
    const onProgress =
      token === undefined
        ? undefined
        : (p: Progress) => void extra.sendNotification({ method: 'notifications/progress', params: { ...p, progressToken: token } }).catch(() => {});
    // The upstream's sampling and elicitation for this call, sent with it (on /mcp, on its answer stream).
    const ask: AskCaller = (request, { signal, timeout }) => {
      const refused = callerCannotTake(server.getClientCapabilities(), request);
      if (refused) return Promise.reject(refused);
      if (request.method === 'elicitation/create') return extra.sendRequest(request, ElicitResultSchema, { signal, timeout });
      return extra.sendRequest(request, request.params.tools ? CreateMessageResultWithToolsSchema : CreateMessageResultSchema, { signal, timeout });
    };
    activity.begin();
    try {
      // Only stdio has one (no await otherwise: tools/call is the hot path of /mcp).
      if (options.authorize) await options.authorize();
      if (name === SEARCH_TOOLS_NAME) {
        const query = typeof args.query === 'string' ? args.query : '';
        if (!query) throw wireError(ErrorCode.InvalidParams, 'search_tools: query (a string) is required', { code: 'VALIDATION_FAILED' });
        const k = Number.isInteger(args.k) ? Math.min(20, Math.max(1, args.k as number)) : 5;
        const matches = await gateway.searchTools(ctx.tenant, query, k);
        const tools = matches.map((m) => toMcpTool(m.tool));
        return { content: [{ type: 'text', text: JSON.stringify({ tools }) }], structuredContent: { tools } };
      }
      // The SDK aborts `extra.signal` on notifications/cancelled and when the connection closes.
      // Over HTTP, each POST's request id (docs/errors.md); over stdio, the context's (none).
      const correlationId = correlationIdOf(extra);
      return await gateway.callTool(correlationId === undefined ? ctx : { ...ctx, correlationId }, name, args, { signal: extra.signal, onProgress, ask });
    } catch (err) {
      throw toMcpError(err);
    } finally {
      activity.end();
    }
  });
  checkCallsFirst(server);

  const off = gateway.onToolsChanged((tenant) => {
    if (tenant !== ctx.tenant && tenant !== '*') return;
    void server.sendToolListChanged().catch(() => {});
  });
  // Sent and not yet flushed by the transport (stdio's send resolves once stdout takes the message).
  let unsent = 0;
  const relay = (log: UpstreamLog) => {
    if (minimum !== undefined && SEVERITY.get(log.level)! < minimum) return;
    if (unsent + (options.queued?.() ?? 0) >= MAX_QUEUED_LOG_MESSAGES) {
      gateway.countDroppedLog('backlog');
      return;
    }
    unsent++;
    void server
      .notification({ method: 'notifications/message', params: log })
      .catch(() => {})
      .finally(() => unsent--);
  };
  // Not tied to a request (MCP's log messages carry none): on /mcp they go over the session's GET stream.
  const offLogs = gateway.onUpstreamLog((tenant, log) => {
    if (tenant !== ctx.tenant) return;
    if (options.streaming && !options.streaming()) return;
    if (store && !reading && performance.now() - readAt >= store.freshMs) {
      readAt = performance.now();
      const before = setCount;
      // A store that does not answer keeps the level known here.
      const read = store.load().then(
        (level) => {
          // An entry not found (evicted, flushed) says nothing: the level known here stays.
          if (setCount === before && level !== undefined) minimum = SEVERITY.get(level);
        },
        () => {},
      );
      reading = read;
      void read.then(() => (reading = undefined));
    }
    // Messages that come while the level is read wait for it, in order.
    if (reading) void reading.then(() => relay(log));
    else relay(log);
  });
  return {
    server,
    dispose: () => {
      off();
      offLogs();
    },
  };
}
