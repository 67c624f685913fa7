import { z } from 'zod';
import { ProblemSchema } from '../api/problem';
import { BatchEvents, BatchPage, BatchView } from '../api/schemas/batches';
import { AuditEventView, EventPage, ProofFile, type EventsQueryInput } from '../api/schemas/events';
import { CreatedKey, KeyPage, KeyView, type CreateKeyInput } from '../api/schemas/keys';
import { McpServerList, McpServerView, ToolList, type RegisterServerInput } from '../api/schemas/mcp';
import { SubjectEventPage, SubjectRecord } from '../api/schemas/subjects';
import { Health, Readiness } from '../api/schemas/system';
import { ApprovalResponse, SubmitTaskResponse, TaskPage, TaskView, type ApprovalInput, type SubmitTaskInput, type TaskListQueryInput } from '../api/schemas/tasks';
import { ToolCallPage, ToolCallView, type ToolCallListQueryInput } from '../api/schemas/tool-calls';
import { UnauthenticatedApiError } from './errors';
import { readTaskAnswer } from './task-answer';
import { pages } from './pages';
import { expectNoContent, parse, parseWithText, request, type ClientOptions } from './transport';

const seg = (id: string | number) => encodeURIComponent(String(id));
/** The server still issuing the key of this Idempotency-Key (another attempt of the same call): ask again. */
const KEY_BUSY = [{ status: 409, code: 'IDEMPOTENCY_KEY_IN_USE' }];

/**
 * A list's query as the SDK takes it: the route schema's input, every field optional, with its
 * numbers typed as numbers (the schema's QueryInt takes `unknown`, so `limit: 'abc'` would
 * compile and the server answer 400). A number is sent as `String(n)`: decimal digits for the
 * integers the server takes (it refuses `1e2`, `0x10` and fractions).
 */
export type ListQuery<T> = { [K in keyof T]?: K extends 'limit' | 'after' ? number : T[K] };
export type TaskListQuery = ListQuery<TaskListQueryInput>;
export type ToolCallListQuery = ListQuery<ToolCallListQueryInput>;
export type EventsQuery = ListQuery<EventsQueryInput>;
type PageQuery = { limit?: number; cursor?: string };
type TaskEventsQuery = { after?: number } & PageQuery;
type KeyListQuery = { tenant?: string } & PageQuery;
/** `include: 'details'` (a server of 2026-12-11 on): each page also holds its tasks, their trails and its tool calls (SubjectEventPage). */
type SubjectEventsQuery = TaskEventsQuery & { include?: 'details' };

/**
 * Typed client of the REST API. Requests and answers are checked against the same zod schemas
 * the server uses; errors are OpenMcpApiError subclasses by status (NotFoundApiError, …).
 * Every paginated list has a page method (`list`, `tasks.events`) and an `all` twin
 * (`tasks.all`, `tasks.allEvents`, `toolCalls.all`, `events.all`, `subjects.allEvents`, `keys.all`, `batches.all`): an async iterator over
 * every item that takes the page method's query and follows `nextCursor` until the last page.
 * @example
 * const client = new OpenMcpClient({ baseUrl: 'http://127.0.0.1:8080', apiKey });
 * const { id } = await client.tasks.submit({ steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] });
 * for await (const e of client.tasks.allEvents(id)) console.log(e.position, e.type);
 */
export class OpenMcpClient {
  constructor(readonly options: ClientOptions) {}

  private async call<T extends z.ZodType>(what: string, schema: T, p: Parameters<typeof request>[1], ok = [200]): Promise<z.infer<T>> {
    return parse(await request(this.options, p), schema, what, ok).catch((err) => this.refused(err));
  }

  private async callWithText<T extends z.ZodType>(what: string, schema: T, p: Parameters<typeof request>[1]): Promise<{ value: z.infer<T>; text: string }> {
    return parseWithText(await request(this.options, p), schema, what).catch((err) => this.refused(err));
  }

  private async callNoContent(what: string, p: Parameters<typeof request>[1]): Promise<void> {
    return expectNoContent(await request(this.options, p), what).catch((err) => this.refused(err));
  }

  /** Rethrows `err`, a refused key's error telling where the key came from (options.keySource). */
  private refused(err: unknown): never {
    if (err instanceof UnauthenticatedApiError && this.options.keySource) err.keySource = this.options.keySource;
    throw err;
  }

  readonly tasks = {
    /**
     * With `idempotencyKey` (e.g. a UUID made once per task) the submit is retried on 503 and lost
     * connections like a GET, and a repeat with the same key returns the task already made — never a second one.
     */
    submit: (body: SubmitTaskInput, opts: { idempotencyKey?: string } = {}) =>
      this.call('submit task', SubmitTaskResponse, { method: 'POST', path: '/v1/tasks', body, idempotencyKey: opts.idempotencyKey }, [202]),
    list: (query: TaskListQuery = {}) => this.call('list tasks', TaskPage, { method: 'GET', path: '/v1/tasks', query: query as Record<string, string | number | undefined> }),
    /**
     * Every task of the listing (newest first), page by page from `query.cursor` when given (the
     * first page otherwise); `query.limit` is the page size. Tasks submitted during the walk land
     * before the first page and are not seen.
     * @example for await (const t of client.tasks.all({ status: 'failed' })) console.log(t.id);
     */
    all: (query: TaskListQuery = {}) => pages(() => this.tasks.list(query), (cursor) => this.tasks.list({ ...query, cursor })),
    get: (id: string) => this.call('get task', TaskView, { method: 'GET', path: `/v1/tasks/${seg(id)}` }),
    /** One page of the task's audit trail, in position order; `after` or `cursor`, not both. */
    events: (id: string, query: TaskEventsQuery = {}) =>
      this.call('task events', EventPage, { method: 'GET', path: `/v1/tasks/${seg(id)}/events`, query }),
    /**
     * The task's whole audit trail from `query.after` or `query.cursor` (the start otherwise),
     * page by page; events the task records during the walk come at its end.
     */
    allEvents: (id: string, query: TaskEventsQuery = {}) =>
      pages(() => this.tasks.events(id, query), (cursor) => this.tasks.events(id, { ...query, after: undefined, cursor })),
    /** Idempotent (a repeat answers `cancelled` and records nothing), so retried on 503 and lost connections; a task that completed or failed is a ConflictApiError. */
    cancel: (id: string, reason?: string) =>
      this.call('cancel task', SubmitTaskResponse, { method: 'POST', path: `/v1/tasks/${seg(id)}/cancel`, body: reason === undefined ? {} : { reason }, idempotent: true }, [202]),
    approve: (id: string, body: ApprovalInput) => this.call('decide approval', ApprovalResponse, { method: 'POST', path: `/v1/tasks/${seg(id)}/approvals`, body }, [202]),
    /**
     * The task's final answer: the output's `answer`, or under LLM_REDACTION=hash-only its
     * `sealedAnswer` opened here with `privateKey` (the answerRecipient's; never sent) and checked
     * against the signed `answerHash`. See readTaskAnswer for the errors.
     */
    answer: async (id: string, o: { privateKey?: string | Uint8Array } = {}) => readTaskAnswer(await this.tasks.get(id), o.privateKey),
  };

  readonly toolCalls = {
    /** One page of the tenant's gateway tool calls, newest request first; filters server, tool, status, taskId, from/to. */
    list: (query: ToolCallListQuery = {}) =>
      this.call('list tool calls', ToolCallPage, { method: 'GET', path: '/v1/tool-calls', query: query as Record<string, string | number | undefined> }),
    /**
     * Every tool call of the listing (newest first), page by page from `query.cursor` when given;
     * calls made during the walk land before the first page and are not seen.
     * @example for await (const c of client.toolCalls.all({ server: 'examples', status: 'failed', from: '2026-12-06T00:00:00Z' })) console.log(c.tool, c.error);
     */
    all: (query: ToolCallListQuery = {}) => pages(() => this.toolCalls.list(query), (cursor) => this.toolCalls.list({ ...query, cursor })),
    /**
     * One call; its `arguments` and `result` only where recorded (MCP_PAYLOAD_POLICY=store, or encrypted while its subject's
     * key exists: once erased, `argumentsErased` / `resultErased` instead), hashes always.
     */
    get: (id: string) => this.call('get tool call', ToolCallView, { method: 'GET', path: `/v1/tool-calls/${seg(id)}` }),
  };

  readonly events = {
    /** One page of the log, in position order; `after` or `cursor`, not both. */
    list: (query: EventsQuery = {}) => this.call('list events', EventPage, { method: 'GET', path: '/v1/events', query: query as Record<string, string | number | undefined> }),
    /**
     * Every event of the log that matches `query` (stream, type), from `query.after` or
     * `query.cursor` (the start otherwise), page by page; events appended during the walk come at
     * its end. The cursor holds the position, so pages after the first send it without `after`.
     * @example for await (const e of client.events.all({ type: 'TaskFailed', limit: 500 })) console.log(e.stream);
     */
    all: (query: EventsQuery = {}) => pages(() => this.events.list(query), (cursor) => this.events.list({ ...query, after: undefined, cursor })),
    get: (id: string) => this.call('get event', AuditEventView, { method: 'GET', path: `/v1/events/${seg(id)}` }),
    /** The proof file; throws ConflictApiError code PROOF_PENDING (with retryAfterSeconds) until anchored. */
    proof: async (id: string) => (await this.events.proofFile(id)).proof,
    /**
     * The proof file, checked as `proof` does, with `text`: the answer as the server wrote it, to
     * save as is (`openmcp verify` reads it; re-serializing `proof` could reorder its keys). Errors as `proof`.
     * @example const { text } = await client.events.proofFile(id); await writeFile('proof.json', text);
     */
    proofFile: async (id: string) => {
      const { value, text } = await this.callWithText('get proof', ProofFile, { method: 'GET', path: `/v1/events/${seg(id)}/proof` });
      return { proof: value, text };
    },
  };

  readonly batches = {
    /** One page of sealed batches, newest first. */
    list: (query: PageQuery = {}) => this.call('list batches', BatchPage, { method: 'GET', path: '/v1/batches', query }),
    /** Every sealed batch, newest first, from `query.cursor` when given; batches sealed during the walk are not seen. */
    all: (query: PageQuery = {}) => pages(() => this.batches.list(query), (cursor) => this.batches.list({ ...query, cursor })),
    get: (id: number) => this.call('get batch', BatchView, { method: 'GET', path: `/v1/batches/${seg(id)}` }),
    /** The batch's export (`{batch, events}`, every tenant's: cross-tenant keys only, else ForbiddenApiError). */
    events: async (id: number) => (await this.batches.exportFile(id)).export,
    /** `events`, with `text`: the answer as the server wrote it, to save as is for `openmcp verify-batch`. */
    exportFile: async (id: number) => {
      const { value, text } = await this.callWithText('batch events', BatchEvents, { method: 'GET', path: `/v1/batches/${seg(id)}/events` });
      return { export: value, text };
    },
  };

  readonly mcpServers = {
    /**
     * Answered once the server has connected: with its own `connectTimeoutMs`, up to that for its
     * initialize and again for its first tools/list page, so the request is given that much more than
     * the client's timeout (30 s by default reported a server slow to start failed, while it registered).
     * Retried on 503 and lost connections: the same definition sent again answers 200 with the server
     * (registered by the attempt whose answer was lost); another definition of the name throws ConflictApiError, and so does
     * the same one whose URL holds credentials when another process answers the retry (its message names that server).
     */
    register: (body: RegisterServerInput) => {
      const client = body.connectTimeoutMs === undefined ? this : new OpenMcpClient({ ...this.options, timeoutMs: Math.max(this.options.timeoutMs ?? 30_000, 2 * body.connectTimeoutMs + 30_000) });
      // Safe to send again: the same definition answers 200 with the server registered already.
      return client.call('register MCP server', McpServerView, { method: 'POST', path: '/v1/mcp-servers', body, idempotent: true }, [200, 201]);
    },
    list: async () => (await this.call('list MCP servers', McpServerList, { method: 'GET', path: '/v1/mcp-servers' })).items,
    /**
     * Retried on 503 and lost connections; a retry that finds the server removed already (409
     * INVALID_TRANSITION) resolves: the lost attempt removed it. Removing a removed server otherwise
     * throws ConflictApiError; an id the tenant never had (a typo, another tenant's) NotFoundApiError, on a retry too.
     */
    remove: (id: string) => this.callNoContent('remove MCP server', { method: 'DELETE', path: `/v1/mcp-servers/${seg(id)}`, doneIfRetryAnswers: [{ status: 409, code: 'INVALID_TRANSITION' }] }),
  };

  readonly tools = {
    search: async (q: string, k?: number) => (await this.call('search tools', ToolList, { method: 'GET', path: '/v1/tools', query: { q, k } })).items,
  };

  readonly keys = {
    /**
     * The only call that ever returns a key: store it now. With `idempotencyKey` (made once per
     * key) it is retried on 503 and lost connections, and never issues a second key: when the lost
     * attempt had issued it, the retry throws ConflictApiError `API_KEY_ALREADY_ISSUED` naming it in
     * `problem.keyId` (its secret is never shown again: revoke it and create another, under a new key).
     * A retry that finds that attempt still issuing (409 `IDEMPOTENCY_KEY_IN_USE`) waits (Retry-After) and asks again.
     */
    create: (body: CreateKeyInput, opts: { idempotencyKey?: string } = {}) =>
      this.call('create key', CreatedKey, { method: 'POST', path: '/v1/keys', body, idempotencyKey: opts.idempotencyKey, busyIfAnswers: KEY_BUSY }, [201]),
    /** One page of keys (never the keys themselves), oldest first. */
    list: (query: KeyListQuery = {}) => this.call('list keys', KeyPage, { method: 'GET', path: '/v1/keys', query }),
    /**
     * Every key of `query.tenant` (the caller's tenant otherwise; every tenant for a cross-tenant
     * admin), oldest first, from `query.cursor` when given; keys issued during the walk come at its end.
     */
    all: (query: KeyListQuery = {}) => pages(() => this.keys.list(query), (cursor) => this.keys.list({ ...query, cursor })),
    /**
     * Change the agents the key may act as: the whole new list, or null for any agent of its
     * tenant. Applies to the key's next request; the list it has already changes nothing (safe to repeat).
     */
    setAgents: (id: string, agents: string[] | null) => this.call('set key agents', KeyView, { method: 'PATCH', path: `/v1/keys/${seg(id)}`, body: { agents } }),
    /**
     * Retried on 503 and lost connections; a retry that finds the key revoked already (409
     * INVALID_TRANSITION) resolves: the lost attempt revoked it. Revoking a revoked key otherwise throws ConflictApiError.
     */
    revoke: (id: string) => this.callNoContent('revoke key', { method: 'DELETE', path: `/v1/keys/${seg(id)}`, doneIfRetryAnswers: [{ status: 409, code: 'INVALID_TRANSITION' }] }),
  };

  readonly subjects = {
    /**
     * Erase the data key of `subject` (`<tenant>:<kind>:<actor id>`): its payloads recorded under
     * MCP_PAYLOAD_POLICY=encrypted can no longer be read. Idempotent (safe to repeat).
     */
    erase: (subject: string) => this.callNoContent('erase subject key', { method: 'DELETE', path: `/v1/subjects/${seg(subject)}/key` }),
    /**
     * The subject's data keys, oldest first: when each was made and erased, and the SubjectKeyErased
     * event recording each erasure (`erasure.eventId`; `events.proof` gives its proof). Never a key.
     */
    show: (subject: string) => this.call('get subject', SubjectRecord, { method: 'GET', path: `/v1/subjects/${seg(subject)}` }),
    /**
     * One page of the subject's events, in position order, from the server's subject index: of its
     * tenant, those it caused, its API key's stream, those sealed under its keys and their erasures.
     * With `include: 'details'`, also what an export needs of the tasks and tool calls the page is
     * about (`tasks`, `taskEvents`, `toolCalls`, as GET /v1/tasks/:id, /v1/tasks/:id/events and
     * /v1/tool-calls/:id show them): a request per page instead of one per task and call. A server
     * before that sends the page without them (exportSubject then asks for each).
     * `held` when the page ends at a hold (events of the log past it not listed yet): ask again
     * from `held.cursor` (exportSubject waits for it).
     * @example const p = await client.subjects.events('acme:user:0193…', { limit: 1000, include: 'details' }); p.tasks?.length
     */
    events: (subject: string, query: SubjectEventsQuery = {}) =>
      this.call('subject events', SubjectEventPage, { method: 'GET', path: `/v1/subjects/${seg(subject)}/events`, query }),
    /**
     * Every event of `subject` (as `events`), page by page, from `query.after` or `query.cursor`;
     * it ends at a held page as at the last one (exportSubject waits for the hold instead).
     * @example for await (const e of client.subjects.allEvents('acme:user:0193…')) console.log(e.type);
     */
    allEvents: (subject: string, query: SubjectEventsQuery = {}) =>
      pages(() => this.subjects.events(subject, query), (cursor) => this.subjects.events(subject, { ...query, after: undefined, cursor })),
  };

  health(): Promise<z.infer<typeof Health>> {
    return this.call('health', Health, { method: 'GET', path: '/healthz' });
  }

  /** Readiness with each dependency's state; answers (does not throw) when not ready. */
  ready(): Promise<z.infer<typeof Readiness>> {
    return this.call('readiness', Readiness, { method: 'GET', path: '/readyz' }, [200, 503]);
  }

  async metrics(): Promise<string> {
    const res = await request(this.options, { method: 'GET', path: '/metrics' });
    if (!res.ok) await parse(res, ProblemSchema, 'metrics');
    return res.text();
  }

  openapi(): Promise<Record<string, unknown>> {
    return this.call('OpenAPI document', z.record(z.string(), z.unknown()), { method: 'GET', path: '/docs' });
  }
}
