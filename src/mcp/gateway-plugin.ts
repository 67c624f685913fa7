import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Actor } from '../core/envelope';
import type { McpGateway } from './gateway';
import { createGatewayServer } from './gateway-server';
import { SessionTransport } from './session-transport';

export type McpPrincipal = { tenant: string; actor: Actor };

export type McpGatewayPluginOptions = {
  gateway: McpGateway;
  /** The API's key check: who is calling, or null for a missing or bad key (→ 401). */
  authenticate(request: FastifyRequest): Promise<McpPrincipal | null>;
  /** Route path. Default `/mcp`. */
  path?: string;
  /** Answer POSTs with application/json instead of an SSE stream (faster; notifications go to the GET stream). Default true. */
  enableJsonResponse?: boolean;
  /** Sessions idle this long are closed. Default 30 min. */
  sessionIdleMs?: number;
};

type Session = { transport: SessionTransport; principal: McpPrincipal; lastSeen: number; close(): Promise<void> };

function rpcError(reply: FastifyReply, status: number, message: string, headers: Record<string, string> = {}): FastifyReply {
  return reply
    .code(status)
    .headers({ 'content-type': 'application/json', ...headers })
    .send({ jsonrpc: '2.0', error: { code: -32001, message }, id: null });
}

/**
 * The gateway as an MCP server over streamable HTTP at POST/GET/DELETE `/mcp`. Every request is
 * authenticated; a session belongs to the tenant and actor that opened it, and a request for it
 * with another identity is refused (403).
 *
 * @example app.register(mcpGatewayPlugin, { gateway, authenticate: (req) => keys.principalOf(req) })
 */
export async function mcpGatewayPlugin(app: FastifyInstance, opts: McpGatewayPluginOptions): Promise<void> {
  const path = opts.path ?? '/mcp';
  const idleMs = opts.sessionIdleMs ?? 30 * 60_000;
  const sessions = new Map<string, Session>();

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of sessions.values()) if (now - s.lastSeen > idleMs) void s.close();
  }, Math.min(idleMs, 60_000));
  sweep.unref();

  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await Promise.all([...sessions.values()].map((s) => s.close()));
  });

  const jsonResponses = opts.enableJsonResponse ?? true;

  async function open(principal: McpPrincipal): Promise<SessionTransport> {
    const { server, dispose } = createGatewayServer(opts.gateway, { tenant: principal.tenant, actor: principal.actor });
    const sdk = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: jsonResponses,
      onsessioninitialized: (id) => {
        sessions.set(id, {
          transport,
          principal,
          lastSeen: Date.now(),
          close: async () => {
            sessions.delete(id);
            dispose();
            await server.close().catch(() => {});
          },
        });
      },
    });
    const transport = new SessionTransport(sdk);
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      dispose();
    };
    await server.connect(transport);
    return transport;
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
    const principal = await opts.authenticate(request);
    if (!principal) return rpcError(reply, 401, 'missing or invalid API key', { 'www-authenticate': 'Bearer' });
    const sid = request.headers['mcp-session-id'];
    let transport: SessionTransport;
    if (typeof sid === 'string') {
      const s = sessions.get(sid);
      if (!s) return rpcError(reply, 404, 'session not found');
      if (s.principal.tenant !== principal.tenant || s.principal.actor.id !== principal.actor.id) {
        return rpcError(reply, 403, 'this session belongs to another identity');
      }
      s.lastSeen = Date.now();
      transport = s.transport;
      if (jsonResponses && request.method === 'POST') {
        const fast = await transport.tryPost({ headers: request.headers, url: request.url, body: request.body });
        if (fast?.status === 202) return reply.code(202).send();
        if (fast) return reply.code(200).headers({ 'content-type': 'application/json', 'mcp-session-id': sid }).send(fast.body);
      }
    } else if (request.method === 'POST' && isInitializeRequest(request.body)) {
      transport = await open(principal);
    } else {
      return rpcError(reply, 400, 'no mcp-session-id: start with an initialize request');
    }
    reply.hijack();
    await transport.sdk.handleRequest(request.raw, reply.raw, request.body);
  }

  app.post(path, handle);
  app.get(path, handle);
  app.delete(path, handle);
}
