import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { InvalidCursorError, NotFoundError } from '../../core/errors';
import { decodeToolCallCursor, type ToolReading } from '../../readmodels/cursor';
import { openToolCallView } from '../../readmodels/open-tool-call-view';
import type { AppDeps } from '../deps';
import { principalOf } from '../context';
import { ProblemSchema } from '../problem';
import { UuidParams } from '../schemas/common';
import { ToolCallListQuery, ToolCallPage, ToolCallView } from '../schemas/tool-calls';
import { toolNameFilter } from '../tool-name-filter';

/**
 * How this page reads `tool`: as its cursor says the first page did, else the tool the tenant's
 * catalog serves by it now, else (an alias no longer served) the tool of the calls made by it.
 * A cursor issued for another `tool` (or none) is refused: its pages are of another list.
 */
async function readToolFilter(deps: AppDeps, tenant: string, tool: string | undefined, cursor: string | undefined): Promise<ToolReading | undefined> {
  const kept = cursor === undefined ? undefined : decodeToolCallCursor(cursor).reading;
  if (kept && kept.tool !== tool) {
    // Quoted: names are the caller's and the upstreams' text (JSON escapes what a terminal would act on).
    const of = (t: string | undefined) => (t === undefined ? 'no tool filter' : `tool=${JSON.stringify(t)}`);
    throw new InvalidCursorError(`cursor: a page of ${of(kept.tool)}, not of ${of(tool)}; pass back the nextCursor of a previous page with the same filters`);
  }
  if (tool === undefined) return undefined;
  if (kept) return kept;
  // The first page (or a cursor of a release before readings were kept: read now, as then).
  const served = deps.gateway?.servedTool?.(tenant, tool) ?? (await deps.readModels.toolOfAlias(tenant, tool));
  return { tool, served: served ?? null };
}

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
        description: 'Filters: server, tool (the upstream\'s own name, or the `<server>__<tool>` name the gateway serves it by, an alias included, one no longer served too: calls matching either reading; with server, only those of that server; the next pages read it as the first did, their cursor keeping that reading), status, taskId, from/to (on requestedAt, inclusive). Arguments and results only where recorded (MCP_PAYLOAD_POLICY=store, or encrypted while the subject\'s key exists: after erasure `argumentsErased`/`resultErased`); hashes always. A page also ends, with nextCursor, before the call that would take its recorded payloads past 16 MiB (never empty): follow nextCursor rather than comparing the page with limit.',
        querystring: ToolCallListQuery,
        response: { 200: ToolCallPage, ...problems },
      },
    }, async (request) => {
      // `tool` as the gateway serves it (`examples__echo`) is split into server and tool, as the read
      // model keeps them; an alias (a name LLM hosts do not take) only the catalog can say the tool
      // of. As an upstream's own name (which may hold `__`) it still matches too.
      // The next pages read `tool` as the first did (its cursor keeps the reading): a catalog
      // changed meanwhile (an alias added, a server removed) does not change what the list is of.
      const tenant = principalOf(request).tenant;
      const { server, tool, ...q } = request.query;
      const reading = await readToolFilter(deps, tenant, tool, q.cursor);
      const page = await deps.readModels.listToolCalls(tenant, { ...q, ...toolNameFilter({ server, tool }, reading?.served ?? undefined), ...(reading ? { reading } : {}) });
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
