import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { limitsOf } from '../../../events/mcp.events';
import { UnavailableError } from '../../core/errors';
import { fieldIn } from '../field-in';
import type { AppDeps } from '../deps';
import { metadataOf, principalOf } from '../context';
import { ForbiddenError } from '../errors';
import { reachesInternalAddress } from '../../mcp/private-address';
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
      schema: { tags: ['mcp'], summary: 'Register an upstream MCP server', body: RegisterServerBody, response: { 201: McpServerView, ...problems } },
    }, async (request, reply) => {
      // A stdio server is a process started on this host: only admins may do that.
      if (request.body.transport === 'stdio' && principalOf(request).role !== 'admin') {
        throw new ForbiddenError('registering a stdio server starts a process on the host: admins only', { field: 'body.transport' });
      }
      // A header value is read from the gateway's environment and sent to the URL the caller chose:
      // any variable, the gateway's own secrets too (admin key, database password). Admins only,
      // as for stdio, whose child process could print the same environment.
      if (request.body.headers && principalOf(request).role !== 'admin') {
        throw new ForbiddenError("headers read the gateway's environment variables and send them to the server's URL: admins only", { field: 'body.headers' });
      }
      // The gateway connects to the URL from inside the network: an internal address (loopback,
      // private, link-local such as cloud metadata) is an admin's decision too.
      if (request.body.url && principalOf(request).role !== 'admin' && (await reachesInternalAddress(request.body.url))) {
        throw new ForbiddenError('the URL reaches an internal address (loopback, private or link-local network): admins only', { field: 'body.url' });
      }
      const m = metadataOf(request);
      const { timeoutMs, maxConcurrent, ...spec } = request.body;
      const server = await gateway().registerServer({ ...m, ...spec, limits: limitsOf({ timeoutMs, maxConcurrent }) }).catch((err: unknown) => {
        // The gateway names a registration's entries as it takes them (`headers.Authorization`).
        throw fieldIn('body', err);
      });
      return reply.code(201).send(server);
    });

    app.get('/mcp-servers', {
      config: { permission: 'mcp:read' },
      schema: { tags: ['mcp'], summary: "The tenant's MCP servers (the whole list: no pages)", querystring: McpServerListQuery, response: { 200: McpServerList, ...reads } },
    }, async (request) => {
      // A shared server's configuration is the operator's (host paths, internal URLs): cross-tenant callers only.
      const p = principalOf(request);
      return { items: await gateway().listServers(p.tenant, { sharedDetails: p.crossTenant }) };
    });

    app.delete('/mcp-servers/:id', {
      config: { permission: 'mcp:write' },
      schema: { tags: ['mcp'], summary: 'Remove an MCP server', params: ServerIdParams, response: { 204: NoContent, ...problems } },
    }, async (request, reply) => {
      const m = metadataOf(request);
      // A shared server (tenant *) serves every tenant: a tenant's own admin or operator may not take it away from the others.
      const p = principalOf(request);
      await gateway().removeServer(m.tenant, request.params.id, m.actor, m.correlationId, { crossTenant: p.crossTenant && p.role === 'admin' });
      return reply.code(204).send(null);
    });

    app.get('/tools', {
      config: { permission: 'mcp:read' },
      schema: { tags: ['mcp'], summary: 'Search tools (BM25 over names and descriptions; by meaning too with EMBEDDING_MODEL_DIR)', querystring: ToolsQuery, response: { 200: ToolList, ...reads } },
    }, async (request) => ({ items: await gateway().searchTools(principalOf(request).tenant, request.query.q, request.query.k) }));
  };
}
