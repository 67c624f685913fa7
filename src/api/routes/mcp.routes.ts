import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { limitsOf } from '../../../events/mcp.events';
import { UnavailableError } from '../../core/errors';
import { fieldIn } from '../field-in';
import type { AppDeps } from '../deps';
import { metadataOf, principalOf } from '../context';
import { ForbiddenError } from '../errors';
import { egressHostAllowed } from '../../mcp/egress-rules';
import { internalAddressOf, isInternalAddress, systemResolve } from '../../mcp/private-address';
import { isUrlTemplate } from '../../mcp/upstream-url';
import { ProblemSchema } from '../problem';
import { NoContent } from '../schemas/common';
import { McpServerList, McpServerListQuery, McpServerView, RegisterServerBody, ServerIdParams, ToolList, ToolsQuery } from '../schemas/mcp';

const reads = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 429: ProblemSchema, 503: ProblemSchema };
const problems = { ...reads, 409: ProblemSchema };

/** Upstream MCP servers and tool search, per tenant, through the gateway service. */
export function mcpRoutes(deps: AppDeps): FastifyPluginAsync {
  const gateway = () => {
    if (!deps.gateway) throw new UnavailableError('gateway', 'the MCP gateway is not running in this process');
    return deps.gateway;
  };
  return async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post('/mcp-servers', {
      config: { permission: 'mcp:write' },
      schema: { tags: ['mcp'], operationId: 'registerMcpServer', summary: 'Register an upstream MCP server',
        description:
          '201 with the new server. Safe to send again: 200 with the registered server (the same body as the 201), nothing recorded and its connection left as it is, when your tenant ' +
          'already has a server of that name with this very definition (transport, command, args, env names and references, url, headers, limits, egress), as a retry whose first ' +
          'answer was lost (a timeout, a drain\'s 503) finds it. 409 MCP_SERVER_EXISTS when that server is defined otherwise (its detail names the settings that differ, never a value; ' +
          'remove it and register it again to change it). A URL holding credentials (masked in the log) is the same only on the process that registered it; elsewhere it is that 409, ' +
          'naming the server: give them by reference instead (`?api_key=${env:NAME}`, recorded as written), and every process compares the URL as written. Another tenant\'s server of that name, or a shared one, is never the same.',
        body: RegisterServerBody,
        response: { 201: McpServerView.describe('Registered'), 200: McpServerView.describe('Registered already with this very definition: nothing recorded'), ...problems },
      },
    }, async (request, reply) => {
      // What reaches the host is the host operator's, not a tenant's: a stdio server is a process
      // on this host (it reads DATA_DIR — admin.key, sealer.key, the database of every tenant —
      // and prints what it likes into its health reason), headers, env and a URL's ${env:NAME} hand it or the URL the
      // gateway's variables (OPENMCP_ADMIN_KEY among them), and an internal URL reaches into the
      // gateway's own network. A tenant's admin doing any of these acted as every tenant's admin:
      // cross-tenant admins only (the host operator gives a tenant its own such server through
      // MCP_SERVERS_FILE with `tenant`, or with a cross-tenant admin key issued in that tenant).
      const p = principalOf(request);
      const host = p.role === 'admin' && p.crossTenant;
      const refuse = (what: string, field: string) => {
        throw new ForbiddenError(
          `${what}: cross-tenant admins only, as a key of one tenant must reach no other; the host's operator gives a tenant one as an MCP_SERVERS_FILE entry with "tenant", or registers it with a cross-tenant admin key issued in that tenant (docs/security.md)`,
          { field },
        );
      };
      if (request.body.transport === 'stdio' && !host) refuse('registering a stdio server starts a process on the host, which can read every tenant\'s data and the gateway\'s keys', 'body.transport');
      if (request.body.headers && !host) refuse("headers read the gateway's environment variables and send them to the server's URL", 'body.headers');
      if (request.body.url && isUrlTemplate(request.body.url) && !host) refuse("a URL with ${env:NAME} reads the gateway's environment variables and sends them to the server", 'body.url');
      if (request.body.url && !host) {
        // The operator's list first: a host it does not allow is refused before its name is even resolved.
        const { hostname } = new URL(request.body.url);
        if (!egressHostAllowed(deps.egress, hostname)) {
          refuse(`the URL's host ${JSON.stringify(hostname)} is not in MCP_EGRESS_ALLOWED_HOSTS, the hosts this gateway's operator lets tenants' servers reach`, 'body.url');
        }
        const denied = deps.egress?.deniedNetworks;
        const internal = await internalAddressOf(request.body.url, systemResolve, (a) => isInternalAddress(a, denied));
        if (internal !== undefined) {
          refuse(
            isInternalAddress(internal)
              ? 'the URL reaches an internal address (loopback, private or link-local network) of the gateway'
              : "the URL reaches an address in MCP_EGRESS_DENIED_NETWORKS (networks this gateway's operator keeps from tenants' servers)",
            'body.url',
          );
        }
      }
      const m = metadataOf(request);
      const { timeoutMs, connectTimeoutMs, maxConcurrent, ...spec } = request.body;
      // Its name was checked just now, but may be pointed inside later: anyone but the host's admins
      // gets a server that every process reaches at public addresses only (egress, checked per request).
      const egress = spec.url && !host ? { egress: 'public' as const } : {};
      const { server, existed } = await gateway().registerServer({ ...m, ...spec, ...egress, limits: limitsOf({ timeoutMs, connectTimeoutMs, maxConcurrent }) }).catch((err: unknown) => {
        // The gateway names a registration's entries as it takes them (`headers.Authorization`).
        throw fieldIn('body', err);
      });
      // The same definition sent again (a retry whose first answer was lost): the registered server, nothing recorded.
      return reply.code(existed ? 200 : 201).send(server);
    });

    app.get('/mcp-servers', {
      config: { permission: 'mcp:read' },
      schema: { tags: ['mcp'], operationId: 'listMcpServers', summary: "The tenant's MCP servers (the whole list: no pages)", querystring: McpServerListQuery, response: { 200: McpServerList, ...reads } },
    }, async (request) => {
      // A shared server's configuration is the operator's (host paths, internal URLs): cross-tenant callers only.
      const p = principalOf(request);
      return { items: await gateway().listServers(p.tenant, { sharedDetails: p.crossTenant }) };
    });

    app.delete('/mcp-servers/:id', {
      config: { permission: 'mcp:write' },
      schema: {
        tags: ['mcp'],
        operationId: 'removeMcpServer',
        summary: 'Remove an MCP server',
        description:
          '204 when removed. 409 INVALID_TRANSITION ("removed already") for a server of your tenant (or a shared one) that is removed already: a retry whose first answer was lost ' +
          'finds it so, and may count it done. 404 NOT_FOUND for an id your tenant never had, or another tenant\'s server, removed or not. A name registered again after its removal gets a new id.',
        params: ServerIdParams,
        response: { 204: NoContent, ...problems },
      },
    }, async (request, reply) => {
      const m = metadataOf(request);
      // A shared server (tenant *) serves every tenant: a tenant's own admin or operator may not take it away from the others.
      const p = principalOf(request);
      await gateway().removeServer(m.tenant, request.params.id, m.actor, m.correlationId, { crossTenant: p.crossTenant && p.role === 'admin' });
      return reply.code(204).send(null);
    });

    app.get('/tools', {
      config: { permission: 'mcp:read' },
      schema: { tags: ['mcp'], operationId: 'searchTools', summary: 'Search tools (BM25 over names and descriptions; by meaning too with EMBEDDING_MODEL_DIR)', querystring: ToolsQuery, response: { 200: ToolList, ...reads } },
    }, async (request) => ({ items: await gateway().searchTools(principalOf(request).tenant, request.query.q, request.query.k) }));
  };
}
