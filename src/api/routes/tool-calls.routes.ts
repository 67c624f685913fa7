import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFoundError } from '../../core/errors';
import { openToolCallView } from '../../readmodels/open-tool-call-view';
import type { AppDeps } from '../deps';
import { principalOf } from '../context';
import { ProblemSchema } from '../problem';
import { UuidParams } from '../schemas/common';
import { ToolCallListQuery, ToolCallPage, ToolCallView } from '../schemas/tool-calls';
import { toolNameFilter } from '../tool-name-filter';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 429: ProblemSchema };

/**
 * The gateway's tool calls (every tools/call through /mcp, `openmcp mcp stdio` or a task's step),
 * from the tool-calls read model, scoped to the caller's tenant. Read with `tasks:read`: a task's
 * view shows the same calls' arguments and results in its steps.
 */
export function toolCallsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get('/tool-calls', {
      config: { permission: 'tasks:read' },
      schema: {
        tags: ['tool-calls'],
        operationId: 'listToolCalls',
        summary: 'List tool calls, newest first (filters, cursor pagination)',
        description: 'Filters: server, tool (the upstream\'s own name, or the `<server>__<tool>` name the gateway serves it by, an alias included: calls matching either reading; with server, only those of that server), status, taskId, from/to (on requestedAt, inclusive). Arguments and results only where recorded (MCP_PAYLOAD_POLICY=store, or encrypted while the subject\'s key exists: after erasure `argumentsErased`/`resultErased`); hashes always. A page also ends, with nextCursor, before the call that would take its recorded payloads past 16 MiB (never empty): follow nextCursor rather than comparing the page with limit.',
        querystring: ToolCallListQuery,
        response: { 200: ToolCallPage, ...problems },
      },
    }, async (request) => {
      // `tool` as the gateway serves it (`examples__echo`) is split into server and tool, as the read
      // model keeps them; an alias (a name LLM hosts do not take) only the catalog can say the tool
      // of. As an upstream's own name (which may hold `__`) it still matches too.
      const tenant = principalOf(request).tenant;
      const { server, tool, ...q } = request.query;
      const served = tool === undefined ? undefined : deps.gateway?.servedTool?.(tenant, tool);
      const page = await deps.readModels.listToolCalls(tenant, { ...q, ...toolNameFilter({ server, tool }, served) });
      return { ...page, items: await Promise.all(page.items.map((c) => openToolCallView(deps.subjectKeys, c))) };
    });

    app.get('/tool-calls/:id', {
      config: { permission: 'tasks:read' },
      schema: { tags: ['tool-calls'], operationId: 'getToolCall', summary: 'Show a tool call', params: UuidParams, response: { 200: ToolCallView, ...problems } },
    }, async (request) => {
      const call = await deps.readModels.getToolCall(principalOf(request).tenant, request.params.id);
      if (!call) throw new NotFoundError('tool call', request.params.id);
      return openToolCallView(deps.subjectKeys, call);
    });
  };
}
