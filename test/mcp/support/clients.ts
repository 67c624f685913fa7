import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mcpGatewayPlugin, type McpGatewayPluginOptions, type McpPrincipal } from '../../../src/mcp/gateway-plugin';
import type { McpGateway } from '../../../src/mcp/gateway';
import { endConnectionsOnClose } from '../../../src/api/end-connections-on-close';

/** Test keys: `Bearer key-<tenant>-<actor>` authenticates as that tenant and user. */
export async function trivialAuth(request: { headers: Record<string, unknown> }): Promise<McpPrincipal | null> {
  const m = /^Bearer key-([a-z0-9]+)-([a-z0-9]+)$/.exec(String(request.headers.authorization ?? ''));
  return m ? { tenant: m[1], actor: { kind: 'user', id: m[2] } } : null;
}

/**
 * Fastify with the /mcp plugin (`trivialAuth`, then `options`), listening on a free port. Its close
 * ends connections as buildApp's does (endConnectionsOnClose): a client's spare connection held it
 * until the client dropped it (4 s for fetch's).
 */
export async function startGatewayHttp(
  gateway: McpGateway,
  options: Partial<Omit<McpGatewayPluginOptions, 'gateway'>> = {},
  logger: FastifyServerOptions['logger'] = false,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger });
  endConnectionsOnClose(app);
  await app.register(mcpGatewayPlugin, { gateway, authenticate: trivialAuth, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/mcp` };
}

/** A real SDK client over streamable HTTP with a bearer key. */
export async function httpClient(url: string, key: string): Promise<Client> {
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

/** Every page of tools/list, following nextCursor. */
export async function allTools(client: Client): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor });
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return names;
}
