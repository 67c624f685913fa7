import type { SealedTurnsPage } from './sealed-turns';
import type { SealedPayload } from '../erasure/sealed-payload';
import type { PayloadHashScheme } from '../erasure/salted-hash';
import type { McpToolIcon } from '../../events/mcp.events';
import type { Actor, RecordedEvent } from '../core/envelope';
import type { SealedAnswer } from '../core/sealed-answer';
import type { TaskStatus } from '../../projections/tasks.projection';
import type { ToolReading } from './cursor';

/** One page of a list; `nextCursor` is opaque and absent on the last page. */
export type Page<T> = { items: T[]; nextCursor?: string };

export type { TaskStatus };

/** What a step waiting for a human shows: the hash `POST /v1/tasks/:id/approvals` takes, why, and since when. */
export type StepApprovalView = {
  proposalHash: string;
  /** The policy rule that holds it, e.g. `method.approvalAbove`. */
  rule: string;
  /** The policy's reason (absent for a proposal whose decision was recorded without one). */
  reason?: string;
  requestedAt: string;
  /** Several approvers, or not the task's submitter (four-eyes): how many are needed and how many approved. */
  approvals?: { required: number; given: number; selfApproval: boolean };
};

/** A proposal of the task waiting for approval, with the step that proposes it. */
export type TaskApprovalView = StepApprovalView & { stepId: string; stepIndex?: number; tool?: string };

export type TaskStepView = {
  index: number;
  tool: string;
  arguments?: Record<string, unknown>;
  /** TaskSubmitted v3 (MCP_PAYLOAD_POLICY=encrypted): the step's arguments sealed, opened before a view is shown (openTaskView). */
  argumentsSealed?: SealedPayload;
  /** The arguments were given sealed and the subject's key has been erased. */
  argumentsErased?: true;
  /** Given sealed with their salt (TaskSubmitted v4) and opened: the scheme of the event's argumentsHash, and the salt it is keyed by. */
  argumentsHashScheme?: PayloadHashScheme;
  argumentsSalt?: string;
  status: 'pending' | 'running' | 'completed' | 'failed';
  toolCallId?: string;
  result?: unknown;
  error?: { code: string; message: string };
  latencyMs?: number;
  startedAt?: string;
  completedAt?: string;
  /** The step's transaction waits for a human (the step stays `running`). */
  awaitingApproval?: StepApprovalView;
};

export type TaskView = {
  id: string;
  tenant: string;
  status: TaskStatus;
  instruction?: string;
  /** TaskSubmitted v3 (MCP_PAYLOAD_POLICY=encrypted): the instruction sealed, opened before a view is shown (openTaskView). */
  instructionSealed?: SealedPayload;
  /** SHA-256 of the instruction's canonical JSON, when it was given sealed. */
  instructionHash?: string;
  /** The instruction was given sealed and the subject's key has been erased: only instructionHash remains. */
  instructionErased?: true;
  /** Given sealed with its salt (TaskSubmitted v4): the scheme of instructionHash (after an erasure too), and while the key opens it the salt it is keyed by. */
  instructionHashScheme?: PayloadHashScheme;
  instructionSalt?: string;
  agentId?: string;
  chainId?: number;
  steps: TaskStepView[];
  output?: unknown;
  outputHash?: string;
  /** TaskCompleted v2: the answer sealed to the task's answerRecipient (docs/agent.md "Sealed answers"). */
  sealedAnswer?: SealedAnswer;
  error?: { code: string; message: string };
  /** Present while the task waits for a human: each proposal to approve or reject (docs/policy.md, "Approvals"). */
  awaitingApproval?: TaskApprovalView[];
  createdAt: string;
  updatedAt: string;
  /** Revision of the last task event applied. */
  revision: number;
};

export type TaskListFilter = {
  status?: TaskStatus;
  agentId?: string;
  /** ISO time range on createdAt, inclusive. */
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
};

/**
 * One gateway tool call (a `toolcall-<id>` stream) as the API shows it. `arguments` and `result`
 * are there only when the call's payload policy kept them (`store`); the hashes always are.
 */
export type ToolCallView = {
  id: string;
  tenant: string;
  taskId?: string;
  serverId: string;
  server: string;
  /** The upstream's own tool name (the gateway serves it as `<server>__<tool>`). */
  tool: string;
  status: ToolCallStatus;
  argumentsHash?: string;
  arguments?: unknown;
  resultHash?: string;
  result?: unknown;
  /** MCP_PAYLOAD_POLICY=encrypted: the sealed payloads, opened with the subject's key before a view is shown (openToolCallView). */
  argumentsSealed?: SealedPayload;
  resultSealed?: SealedPayload;
  /** v4: the salt alone of a payload kept by hash only, sealed; opened into `…Salt` before a view is shown (openToolCallView). */
  argumentsSaltSealed?: SealedPayload;
  resultSaltSealed?: SealedPayload;
  /** ToolCallFailed v2: the salt of `error.message`'s withheld digest, sealed alone; opened into `errorSalt`. */
  errorSaltSealed?: SealedPayload;
  /** The payload was recorded encrypted and its subject's key has been erased (DELETE /v1/subjects/:subject/key). */
  argumentsErased?: true;
  resultErased?: true;
  /**
   * A salted hash (ToolCallRequested / ToolCallCompleted v3 and v4): its scheme, as the event names it
   * (after an erasure too), and while the key opens it the salt it is keyed by, so the payload
   * shown (or held, for one kept by hash only) can be checked against it.
   */
  argumentsHashScheme?: PayloadHashScheme;
  argumentsSalt?: string;
  resultHashScheme?: PayloadHashScheme;
  resultSalt?: string;
  /** While the key exists: the salt of the `hmac-sha256-salted-v1` digest that `error.message` ends with. */
  errorSalt?: string;
  /** The upstream answered with a tool-level error result (status `completed`). */
  isError?: boolean;
  cached?: boolean;
  latencyMs?: number;
  error?: { code: string; message: string };
  /** Absent only for a call whose request the read model never saw (listed after every other). */
  requestedAt?: string;
  completedAt?: string;
};

export type ToolCallStatus = 'requested' | 'completed' | 'failed';

export type ToolCallListFilter = {
  server?: string;
  tool?: string;
  /** Calls of any of these (a server's name where given, the upstream's own tool name), beside `server` and `tool`; non-empty. */
  anyOf?: { server?: string; tool: string }[];
  status?: ToolCallStatus;
  taskId?: string;
  /** ISO time range on requestedAt, inclusive. */
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
  /** How `tool` was read (by the API, from the catalog): kept in the page's nextCursor, which the next page reads it by. */
  reading?: ToolReading;
};

export type AuditEventFilter = { stream?: string; type?: string; after?: number; limit: number };

/** One data subject of a tenant: its actor and every data key it has had (GET /v1/subjects/:subject). */
export type SubjectEventFilter = { actor: Actor; kids: readonly string[]; after?: number; limit: number };

/**
 * A subject's page that ends at a hold, not at the log's end (listSubjectEvents): the events from
 * `position` on are not listed yet, `unapplied` while the audit log lacks that position (a
 * partition or projection behind), `unindexed` while an earlier release's projector's row there
 * lacks its actor and index rows (filled within a minute). An export waits for it to go.
 */
export type SubjectEventsHold = { position: number; reason: 'unapplied' | 'unindexed' };

export type SubjectEventsPage = Page<AuditEventView> & { held?: SubjectEventsHold };

/**
 * What a subject's export needs of the tasks and tool calls a page of its events is about
 * (GET /v1/subjects/:subject/events?include=details): the tasks as getTask shows them, every event
 * of their streams in position order, the calls (theirs and the tasks' steps') as getToolCall does.
 */
export type SubjectDetails = { tasks: TaskView[]; taskEvents: AuditEventView[]; toolCalls: ToolCallView[] };

/** An event in the audit log read model: the full envelope plus its audit seq and batch once sealed. */
export type AuditEventView = RecordedEvent & { seq?: number; batchId?: number };

/** A sealed batch and, once anchored, where its root is on-chain. */
export type BatchView = {
  id: number;
  firstSeq?: number;
  lastSeq?: number;
  root?: string;
  prevRoot?: string;
  signer?: string;
  signature?: string;
  sealedAt?: string;
  anchor?: { chainId?: number; contract?: string; txHash: string; blockNumber?: number; gasUsed?: string; anchoredAt: string };
};

/** A tool of a tenant's catalog; `name` is namespaced `<server>__<tool>`. */
export type ToolCatalogEntry = {
  name: string;
  serverId: string;
  server: string;
  upstreamName: string;
  tenant: string;
  health: 'unknown' | 'up' | 'down';
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, boolean | undefined>;
  /** The upstream's icons for the tool (McpServerToolsDiscovered v2). */
  icons?: McpToolIcon[];
  /** The upstream's `_meta` for the tool (McpServerToolsDiscovered v2). */
  meta?: Record<string, unknown>;
};

/**
 * Queries the API serves from read models (MySQL/SQLite + cache). Tenant is always given:
 * nothing of another tenant is ever returned. `tenant: null` (admins/auditors of the
 * operator) lists every tenant's events.
 */
export interface ReadModels {
  getTask(tenant: string, id: string): Promise<TaskView | undefined>;
  listTasks(tenant: string, filter: TaskListFilter): Promise<Page<TaskView>>;
  /** The tenant's gateway tool calls, newest request first (then id descending). */
  listToolCalls(tenant: string, filter: ToolCallListFilter): Promise<Page<ToolCallView>>;
  getToolCall(tenant: string, id: string): Promise<ToolCallView | undefined>;
  /**
   * The tool a tenant's calls were made by `alias` (aliasToolName of their server and upstream's
   * own name): an alias the catalog no longer serves (its server removed or renamed) still names
   * them. Undefined when no call of the tenant has it.
   */
  toolOfAlias(tenant: string, alias: string): Promise<{ server: string; tool: string } | undefined>;
  listAuditEvents(tenant: string | null, filter: AuditEventFilter): Promise<Page<AuditEventView>>;
  getAuditEvent(tenant: string | null, id: string): Promise<AuditEventView | undefined>;
  /** Added with the subject index: a data subject's events (an access request), position order. */
  listSubjectEvents?(tenant: string, filter: SubjectEventFilter): Promise<SubjectEventsPage>;
  /**
   * Added with the erasure of cached turns: a page of the model turns of `tenant` sealed under one
   * of `kids` (sealedTurns), what an erasure takes out of the LLM response cache.
   */
  listSealedTurns?(tenant: string, kids: readonly string[], page: { after?: number; limit: number }): Promise<SealedTurnsPage>;
  /**
   * Added with the erasure of cached turns: the position up to which the subject index holds every
   * event of `tenant` (listSubjectEvents' applied prefix: under Kafka a later position can be
   * applied before an earlier one; a row an older release applied unindexed ends it too), or
   * undefined when the read models do not track it.
   */
  subjectIndexedThrough?(tenant: string): Promise<number | undefined>;
  /**
   * Added with the details of a subject's pages: the tenant's tasks and calls the first `taken` of
   * `items` (a page of listSubjectEvents from `subject.after`, at least one taken) are about, within
   * MAX_PAGE_CHARS, but for those of a stream the subject has an event of at or before `after` (an
   * earlier page's).
   */
  subjectDetails?(tenant: string, items: AuditEventView[], subject: Omit<SubjectEventFilter, 'limit'>): Promise<SubjectDetails & { taken: number }>;
  /**
   * Resolve true once the projections have applied the event at `position` (read-your-writes
   * after a command), false after `timeoutMs`.
   */
  waitForPosition(position: number, timeoutMs: number): Promise<boolean>;
  /** Added with the projections: tools of the tenant's servers and of shared ("*") servers. */
  listToolCatalog?(tenant: string): Promise<ToolCatalogEntry[]>;
  /** Added with the projections: batches by id ascending, after `after` (exclusive). */
  listBatches?(filter: { after?: number; limit: number }): Promise<Page<BatchView>>;
  getBatch?(id: number): Promise<BatchView | undefined>;
}
