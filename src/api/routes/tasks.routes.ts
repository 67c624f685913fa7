import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { assertMayActOnTask, assertMaySubmitAs } from '../../auth/agent-scope';
import type { Principal } from '../../auth/principal';
import { InvalidTransitionError, NotFoundError } from '../../core/errors';
import { handleCommand } from '../../domain/handle-command';
import { taskDecider, taskStream } from '../../domain/task/task.decider';
import { submitTask } from '../../domain/task/submit-task';
import { assertKnownChain } from '../assert-known-chain';
import type { AppDeps } from '../deps';
import { idempotencyKeyHeaders, onlyOneIdempotencyKey } from '../idempotency-key-header';
import { openTaskView } from '../../readmodels/open-task-view';
import { subjectOf } from '../../erasure/subject';
import { openTaskInput, sealTaskInput, type RecordedTaskInput } from '../../erasure/task-input';
import { metadataOf, principalOf } from '../context';
import { decodeCursor, encodeCursor, isPosition } from '../cursor';
import { NotImplementedError } from '../errors';
import { ProblemSchema } from '../problem';
import { UuidParams } from '../schemas/common';
import { EventPage, TaskEventsQuery } from '../schemas/events';
import {
  ApprovalBody,
  ApprovalResponse,
  CancelTaskBody,
  SubmitTaskBody,
  SubmitTaskResponse,
  TaskListQuery,
  TaskPage,
  TaskView,
} from '../schemas/tasks';

const reads = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 429: ProblemSchema };
const problems = { ...reads, 409: ProblemSchema };
/** Commands decided on the task's stream: refused while it holds an event this release cannot read (EventCatalog.upcast). */
/** The events an approval appends (approval.decider.ts): the last one naming its hash is what read-your-writes waits for. */
const DECISIONS = new Set(['ApprovalGiven', 'ApprovalGranted', 'ApprovalRejected']);
const NEWER_RELEASE = ' 503 EVENT_FROM_NEWER_RELEASE (with Retry-After): the task\'s stream holds an event of a newer release than this process (a rolling upgrade); nothing is appended, and a process of that release answers a retry.';

/** The optional `Idempotency-Key` header (shown in /docs). */
const SubmitTaskHeaders = idempotencyKeyHeaders('Makes a retried POST return the task it already made (docs/agent.md)');

/** Tasks: submit, list, show, audit trail, cancel, approvals. Every query and command is scoped to the caller's tenant. */
export function tasksRoutes(deps: AppDeps): FastifyPluginAsync {
  const waitMs = deps.readYourWritesMs ?? 2000;
  const commandDeps = { store: deps.store, catalog: deps.catalog, clock: deps.clock };
  // Never record in clear what was asked to be sealed.
  if (deps.sealTaskInputs && !deps.subjectKeys) throw new Error('sealTaskInputs needs subjectKeys (MCP_PAYLOAD_POLICY=encrypted)');

  /**
   * A principal limited to agents acts only on its agents' tasks: read from the log (the read
   * model may not show a task yet), only for such a principal. A task of another tenant, or none,
   * is 404 as it would be anyway.
   */
  async function assertActsOn(p: Principal, taskId: string): Promise<void> {
    if (!p.agents) return;
    const [first] = await deps.store.readStream(taskStream(taskId), { maxCount: 1 });
    if (!first || first.tenant !== p.tenant || first.type !== 'TaskSubmitted') throw new NotFoundError('task', taskId);
    assertMayActOnTask(p, taskId, (deps.catalog.upcast(first).data as { agentId?: string }).agentId);
  }

  return async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post('/tasks', {
      config: { permission: 'tasks:write' },
      preValidation: onlyOneIdempotencyKey,
      schema: {
        tags: ['tasks'],
        operationId: 'submitTask',
        summary: 'Submit a task (optional Idempotency-Key header)',
        description: '400 VALIDATION_FAILED naming `body.chainId`: a chainId CHAINS_FILE does not list (any is taken when no chain is configured); nothing is appended. ' +
          '403 AGENT_NOT_ALLOWED: the key or token is limited to agents (`agents`) and the body names another agentId, or none; nothing is appended.',
        headers: SubmitTaskHeaders,
        body: SubmitTaskBody,
        response: { 202: SubmitTaskResponse, 422: ProblemSchema, 503: ProblemSchema, ...problems },
      },
    }, async (request, reply) => {
      assertMaySubmitAs(principalOf(request), request.body.agentId);
      assertKnownChain(deps.taskChainIds, request.body.chainId);
      deps.assertTaskRunnable?.(request.body);
      const metadata = metadataOf(request);
      const keys = deps.sealTaskInputs ? deps.subjectKeys : undefined;
      const sealInput = keys && ((taskId: string, input: Parameters<typeof sealTaskInput>[3]) => sealTaskInput(keys, subjectOf(metadata.tenant, metadata.actor), taskId, input));
      const openInput = (taskId: string, input: RecordedTaskInput) => openTaskInput(deps.subjectKeys, taskId, input);
      const out = await submitTask(commandDeps, { command: { type: 'SubmitTask', ...request.body }, metadata, idempotencyKey: request.headers['idempotency-key'], openInput, ...(sealInput ? { sealInput } : {}) });
      // Read-your-writes: GET /v1/tasks/:id right after this answer sees the task.
      await deps.readModels.waitForPosition(out.position, waitMs);
      if (out.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).header('location', `/v1/tasks/${out.id}`).send({ id: out.id, status: out.status });
    });

    app.get('/tasks', {
      config: { permission: 'tasks:read' },
      schema: { tags: ['tasks'], operationId: 'listTasks', summary: 'List tasks (filters, cursor pagination)', querystring: TaskListQuery, response: { 200: TaskPage, ...reads } },
    }, async (request) => {
      const page = await deps.readModels.listTasks(principalOf(request).tenant, request.query);
      return { ...page, items: await Promise.all(page.items.map((t) => openTaskView(deps.subjectKeys, t))) };
    });

    app.get('/tasks/:id', {
      config: { permission: 'tasks:read' },
      schema: { tags: ['tasks'], operationId: 'getTask', summary: 'Show a task with its steps', params: UuidParams, response: { 200: TaskView, ...reads } },
    }, async (request) => {
      const task = await deps.readModels.getTask(principalOf(request).tenant, request.params.id);
      if (!task) throw new NotFoundError('task', request.params.id);
      return openTaskView(deps.subjectKeys, task);
    });

    app.get('/tasks/:id/events', {
      config: { permission: 'events:read' },
      schema: { tags: ['tasks'], operationId: 'listTaskEvents', summary: "A task's audit trail", params: UuidParams, querystring: TaskEventsQuery, response: { 200: EventPage, ...reads } },
    }, async (request) => {
      const tenant = principalOf(request).tenant;
      const { id } = request.params;
      if (!(await deps.readModels.getTask(tenant, id))) throw new NotFoundError('task', id);
      const q = request.query;
      const after = q.cursor !== undefined ? Number(decodeCursor('task-events', q.cursor, isPosition)) : q.after;
      const page = await deps.readModels.listAuditEvents(tenant, { stream: taskStream(id), after, limit: q.limit });
      const last = page.items[page.items.length - 1];
      return { items: page.items, ...(last && page.nextCursor !== undefined ? { nextCursor: encodeCursor('task-events', last.position) } : {}) };
    });

    app.post('/tasks/:id/cancel', {
      config: { permission: 'tasks:write' },
      schema: {
        tags: ['tasks'],
        operationId: 'cancelTask',
        summary: 'Cancel a task (idempotent)',
        description:
          '202 {id, status: "cancelled"} once TaskCancelled is recorded. A cancel of a task already cancelled (a retry) answers the same, ' +
          'with `Idempotent-Replayed: true`, and records nothing (the first reason stays). A task that completed or failed answers 409 INVALID_TRANSITION. ' +
          'A key or token limited to agents cancels only tasks of those agents (403 AGENT_NOT_ALLOWED otherwise).' + NEWER_RELEASE,
        params: UuidParams,
        body: CancelTaskBody,
        response: { 202: SubmitTaskResponse, 503: ProblemSchema, ...problems },
      },
    }, async (request, reply) => {
      const { id } = request.params;
      await assertActsOn(principalOf(request), id);
      const stream = taskStream(id);
      let result;
      try {
        result = await handleCommand(commandDeps, {
          decider: taskDecider,
          stream,
          command: { type: 'CancelTask', reason: request.body?.reason },
          metadata: metadataOf(request),
        });
      } catch (err) {
        if (err instanceof InvalidTransitionError && err.from === 'none') throw new NotFoundError('task', id);
        if (err instanceof NotFoundError) throw new NotFoundError('task', id);
        throw err;
      }
      const appended = result.events[result.events.length - 1];
      if (!appended) reply.header('idempotent-replayed', 'true');
      // Read-your-writes for a retry too: its first answer may have been lost before the read models caught up.
      const position = appended?.position ?? (await deps.store.readStream(stream)).findLast((e) => e.type === 'TaskCancelled')?.position;
      if (position !== undefined) await deps.readModels.waitForPosition(position, waitMs);
      return reply.code(202).send({ id, status: 'cancelled' as const });
    });

    app.post('/tasks/:id/approvals', {
      config: { permission: 'tasks:approve' },
      schema: {
        tags: ['tasks'],
        operationId: 'decideApproval',
        summary: "Approve or reject an agent's proposed action",
        description:
          'Names the exact proposalHash of ApprovalRequested. 202 with status approved (released), rejected, or pending: the policy wants several distinct approvers ' +
          '(approvals {given, required}); the same principal approving again counts once. 403 APPROVAL_SELF_NOT_ALLOWED: the task\'s submitter approving where the policy wants someone else. ' +
          '403 AGENT_NOT_ALLOWED: a key or token limited to agents deciding on a task of another agent. ' +
          '409 APPROVAL_PROPOSAL_MISMATCH, APPROVAL_NOT_PENDING, APPROVAL_ALREADY_DECIDED (docs/policy.md). ' +
          'The 202 comes once GET /v1/tasks/:id shows the decision in its awaitingApproval (waiting at most 2 s, as a cancel does).' + NEWER_RELEASE,
        params: UuidParams,
        body: ApprovalBody,
        response: { 202: ApprovalResponse, 501: ProblemSchema, 503: ProblemSchema, ...problems },
      },
    }, async (request, reply) => {
      if (!deps.approvals) throw new NotImplementedError('approvals');
      await assertActsOn(principalOf(request), request.params.id);
      const m = metadataOf(request);
      const out = await deps.approvals.decide({ ...m, taskId: request.params.id, ...request.body });
      // Read-your-writes (the task view's awaitingApproval changes with it), for a repeat too: its
      // first answer may have been lost before the read models caught up.
      const hash = request.body.proposalHash;
      const position = (await deps.store.readStream(taskStream(request.params.id))).findLast((e) => DECISIONS.has(e.type) && (e.data as { proposalHash?: string }).proposalHash === hash)?.position;
      if (position !== undefined) await deps.readModels.waitForPosition(position, waitMs);
      return reply.code(202).send(out);
    });
  };
}
