import { z } from 'zod';
import { ProblemSchema } from '../api/problem';
import { BatchEvents, BatchPage, BatchView } from '../api/schemas/batches';
import { AuditEventView, EventPage, ProofFile, type EventsQueryInput } from '../api/schemas/events';
import { CreatedKey, KeyPage, KeyView, type CreateKeyInput } from '../api/schemas/keys';
import { McpServerList, McpServerView, ToolList, type RegisterServerInput } from '../api/schemas/mcp';
import { Health, Readiness } from '../api/schemas/system';
import { ApprovalResponse, SubmitTaskResponse, TaskPage, TaskView, type ApprovalInput, type SubmitTaskInput, type TaskListQueryInput } from '../api/schemas/tasks';
import { UnauthenticatedApiError } from './errors';
import { readTaskAnswer } from './task-answer';
import { expectNoContent, parse, request, type ClientOptions } from './transport';

const seg = (id: string | number) => encodeURIComponent(String(id));

type PageQuery = { limit?: number; cursor?: string };

/**
 * Typed client of the REST API. Requests and answers are checked against the same zod schemas
 * the server uses; errors are OpenMcpApiError subclasses by status (NotFoundApiError, …).
 * @example
 * const client = new OpenMcpClient({ baseUrl: 'http://127.0.0.1:8080', apiKey });
 * const { id } = await client.tasks.submit({ steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] });
 */
export class OpenMcpClient {
  constructor(readonly options: ClientOptions) {}

  private async call<T extends z.ZodType>(what: string, schema: T, p: Parameters<typeof request>[1], ok = [200]): Promise<z.infer<T>> {
    return parse(await request(this.options, p), schema, what, ok).catch((err) => this.refused(err));
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
    list: (query: Partial<TaskListQueryInput> = {}) => this.call('list tasks', TaskPage, { method: 'GET', path: '/v1/tasks', query: query as Record<string, string | number | undefined> }),
    /** Every page of a task listing, from `query.cursor` when given (the first page otherwise). */
    all: (query: Partial<TaskListQueryInput> = {}) => this.pages((cursor) => this.tasks.list({ ...query, cursor }), query.cursor),
    get: (id: string) => this.call('get task', TaskView, { method: 'GET', path: `/v1/tasks/${seg(id)}` }),
    events: (id: string, query: { after?: number } & PageQuery = {}) =>
      this.call('task events', EventPage, { method: 'GET', path: `/v1/tasks/${seg(id)}/events`, query }),
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

  readonly events = {
    list: (query: Partial<EventsQueryInput> = {}) => this.call('list events', EventPage, { method: 'GET', path: '/v1/events', query: query as Record<string, string | number | undefined> }),
    get: (id: string) => this.call('get event', AuditEventView, { method: 'GET', path: `/v1/events/${seg(id)}` }),
    /** The proof file; throws ConflictApiError code PROOF_PENDING (with retryAfterSeconds) until anchored. */
    proof: (id: string) => this.call('get proof', ProofFile, { method: 'GET', path: `/v1/events/${seg(id)}/proof` }),
  };

  readonly batches = {
    list: (query: PageQuery = {}) => this.call('list batches', BatchPage, { method: 'GET', path: '/v1/batches', query }),
    get: (id: number) => this.call('get batch', BatchView, { method: 'GET', path: `/v1/batches/${seg(id)}` }),
    events: (id: number) => this.call('batch events', BatchEvents, { method: 'GET', path: `/v1/batches/${seg(id)}/events` }),
  };

  readonly mcpServers = {
    register: (body: RegisterServerInput) => this.call('register MCP server', McpServerView, { method: 'POST', path: '/v1/mcp-servers', body }, [201]),
    list: async () => (await this.call('list MCP servers', McpServerList, { method: 'GET', path: '/v1/mcp-servers' })).items,
    remove: (id: string) => this.callNoContent('remove MCP server', { method: 'DELETE', path: `/v1/mcp-servers/${seg(id)}` }),
  };

  readonly tools = {
    search: async (q: string, k?: number) => (await this.call('search tools', ToolList, { method: 'GET', path: '/v1/tools', query: { q, k } })).items,
  };

  readonly keys = {
    /** The only call that ever returns a key: store it now. */
    create: (body: CreateKeyInput) => this.call('create key', CreatedKey, { method: 'POST', path: '/v1/keys', body }, [201]),
    list: (query: { tenant?: string } & PageQuery = {}) => this.call('list keys', KeyPage, { method: 'GET', path: '/v1/keys', query }),
    /**
     * Change the agents the key may act as: the whole new list, or null for any agent of its
     * tenant. Applies to the key's next request; the list it has already changes nothing (safe to repeat).
     */
    setAgents: (id: string, agents: string[] | null) => this.call('set key agents', KeyView, { method: 'PATCH', path: `/v1/keys/${seg(id)}`, body: { agents } }),
    revoke: (id: string) => this.callNoContent('revoke key', { method: 'DELETE', path: `/v1/keys/${seg(id)}` }),
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

  private async *pages<T>(fetchPage: (cursor?: string) => Promise<{ items: T[]; nextCursor?: string }>, from?: string): AsyncGenerator<T> {
    let cursor = from;
    do {
      const page = await fetchPage(cursor);
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }
}
