import CircuitBreaker from 'opossum';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  McpError,
  ErrorCode,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type ListToolsResult,
  type LoggingMessageNotification,
  type Progress,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { MCP_TOOL_LIMITS } from '../../events/mcp.events';
import { healthCauseText } from '../../events/mcp-health-reason';
import { redactUrlsIn } from '../core/errors';
import { shownUrl } from './upstream-url';
import { upstreamSecrets, withoutSecrets, withoutSecretsIn } from './upstream-secrets';
import { cutText, wellFormed } from '../core/well-formed';
import { CallEnd, CallerRequests, type ActiveCall, type AskCaller } from './caller-requests';
import { CallStreams } from './call-streams';
import { Deadline, SDK_TIMEOUT_OFF } from './deadline';
import { DepthBoundedValidator } from './depth-bounded-validator';
import { AnswerTooLargeError, CallTimeoutError, cancelledError, McpGatewayError, ResultTooDeepError, UpstreamProtocolError, unlessAborted } from './errors';
import { bodyDepth, MAX_RESULT_DEPTH } from '../core/body-depth';
import { exitCause, healthCauseOf, type ExitStatus } from './health-cause';
import type { HealthFailure } from './health-change';
import { isMessageTooLarge, messageTooLarge } from './bounded-fetch';
import { ConcurrencyLimiter } from './limiter';
import { TenantBreakers, type BreakerSettings, type CircuitState } from './tenant-breakers';
import { TOOL_LIST_BYTES } from './tool-records';
import type { EgressRules } from './egress-rules';
import { openUpstreamTransport } from './upstream-transport';
import { SHARED_TENANT, type ServerHealth, type UpstreamSpec } from './types';

export type UpstreamOptions = {
  /**
   * Per-call timeout (ms): the longest wait for the answer, or, when the upstream reports
   * progress, for its next sign of life (at most CALL_MAX_TIMEOUT_FACTOR times it in all).
   */
  callTimeoutMs: number;
  /** Connect + initialize + first tools/list timeout (ms): MCP_CONNECT_TIMEOUT_MS, or the server's own connectTimeoutMs. */
  connectTimeoutMs: number;
  /** The setting connectTimeoutMs came from, named in a connect's timeout error (`MCP_CONNECT_TIMEOUT_MS`); unnamed when absent. */
  connectTimeoutSetting?: string;
  maxConcurrent: number;
  maxQueue: number;
  /** Extra attempts for tools annotated readOnlyHint && idempotentHint, on timeouts and lost connections. */
  retries: number;
  retryBackoffMs: number;
  /** Active health check period (ms); 0 = none. */
  healthIntervalMs: number;
  /** Each upstream's circuit breaker; on a shared server each tenant's too (TenantBreakers), with the same settings. */
  breaker: BreakerSettings;
  /** The host operator's limits on servers of egress "public" (MCP_EGRESS_ALLOWED_HOSTS, MCP_EGRESS_DENIED_NETWORKS); none when unset. */
  egress?: EgressRules;
};

export const defaultUpstreamOptions: UpstreamOptions = {
  callTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  maxConcurrent: 16,
  maxQueue: 256,
  retries: 2,
  retryBackoffMs: 50,
  healthIntervalMs: 15_000,
  breaker: { errorThresholdPercentage: 50, volumeThreshold: 5, resetTimeoutMs: 10_000, rollingCountTimeoutMs: 10_000 },
};

export type UpstreamEvents = {
  /** `failure`: why it is down, in words (which may quote the upstream) and as the gateway classified it. */
  onHealth(status: Exclude<ServerHealth, 'unknown'>, failure?: HealthFailure): void;
  /**
   * A shared server's: `tenant`'s own circuit opened (its calls' timeouts) or closed again. Nothing
   * of the server's health: that is onHealth's.
   */
  onTenantCircuit?(tenant: string, state: 'open' | 'closed'): void;
  /** A health check ended (changed or not), with the health it found: what the check of every interval says. */
  onChecked?(status: Exclude<ServerHealth, 'unknown'>): void;
  onTools(tools: Tool[]): void;
  /** A log message the upstream sent (notifications/message), as it sent it. */
  onLog?(params: LoggingMessageNotification['params']): void;
};

/**
 * A call that keeps reporting progress may run this many times its call timeout, no longer: the
 * call timeout alone restarts at each progress notification.
 */
export const CALL_MAX_TIMEOUT_FACTOR = 10;

/** What a caller may attach to one call: its cancellation and where the upstream's progress goes. */
export type CallOptions = {
  /** Aborting it cancels the call: dequeued if still waiting, else notifications/cancelled to the upstream. */
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /**
   * Where the upstream's sampling/createMessage and elicitation/create made for this call go: its
   * caller (CallerRequests says which requests are this call's). Without it they are refused.
   */
  ask?: AskCaller;
  /**
   * Who calls (the tenant): on a shared server its calls take that tenant's share of the slots and
   * the queue (ConcurrencyLimiter), and their timeouts count against that tenant's circuit (TenantBreakers).
   */
  owner?: string;
};

export { MAX_RESULT_DEPTH };

/** Most pages one tools/list of an upstream may take (a server paging for ever would hold its connect for ever). */
export const MAX_UPSTREAM_TOOL_PAGES = 500;

/**
 * Most characters (of their JSON) of the tools one tools/list gathers before the catalog sees them: four
 * times what the catalog records of a server (TOOL_LIST_BYTES, one event), room for tools it cuts
 * or leaves out. Each page may be 10 MiB (MAX_UPSTREAM_MESSAGE_BYTES), so MAX_UPSTREAM_TOOL_PAGES
 * of them held at once would be some 5 GB from one upstream.
 */
export const MAX_UPSTREAM_TOOL_LIST_BYTES = 4 * TOOL_LIST_BYTES;

/**
 * Every page of a tools/list, each asked for with `listPage`: each page has its deadline, so the
 * listing itself is bounded here. It stops once it holds more tools than the catalog keeps, or
 * tools of more than MAX_UPSTREAM_TOOL_LIST_BYTES characters of JSON in all (the rest would be left out, and
 * toolRecords says so), and refuses (MCP_UPSTREAM_UNAVAILABLE) an upstream whose cursors repeat
 * or whose pages do not end within MAX_UPSTREAM_TOOL_PAGES.
 */
export async function listAllTools(listPage: (cursor?: string) => Promise<ListToolsResult>, label: string): Promise<Tool[]> {
  const tools: Tool[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  let cursor: string | undefined;
  for (let pages = 1; ; pages++) {
    const page = await listPage(cursor);
    // A tool nested deeper than the log can hash is passed on as it is, unmeasured (both walks are
    // recursive): toolRecords leaves it out, saying why.
    const deep = new Set(page.tools.filter((t) => bodyDepth(t, MAX_RESULT_DEPTH) > MAX_RESULT_DEPTH));
    for (const t of page.tools) if (!deep.has(t)) bytes += JSON.stringify(t).length;
    tools.push(...page.tools.map((t) => (deep.has(t) ? t : wellFormedTool(t))));
    cursor = page.nextCursor;
    if (!cursor || tools.length > MCP_TOOL_LIMITS.tools || bytes > MAX_UPSTREAM_TOOL_LIST_BYTES) return tools;
    if (seen.has(cursor)) throw new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `${label}: its tools/list does not end (page ${pages} gave a cursor it had given before)`);
    if (pages >= MAX_UPSTREAM_TOOL_PAGES) throw new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `${label}: its tools/list did not end within ${MAX_UPSTREAM_TOOL_PAGES} pages`);
    seen.add(cursor);
  }
}

/**
 * A listed tool as the gateway keeps and passes it on: its text well-formed (a lone UTF-16 surrogate
 * replaced with U+FFFD, see wellFormed), except its name, which is how the upstream is called:
 * changed, it would name no tool, so a name with one is left as it is and toolRecords leaves the
 * tool out, saying why.
 */
function wellFormedTool(t: Tool): Tool {
  const w = wellFormed(t);
  return w === t ? t : { ...w, name: t.name };
}

type CallArgs = [name: string, args: Record<string, unknown>, options: CallOptions];

/**
 * A call's end that says nothing of the upstream, alive or not: cancelled by its caller, or ended by
 * the gateway as it shuts down (shuttingDownError, a drain's cut-off). Neither closes nor opens a circuit.
 */
function saysNothing(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'MCP_CALL_CANCELLED' || code === 'DEPENDENCY_UNAVAILABLE';
}

/** The upstream answered the call, but not with what the gateway can pass on: over 10 MiB (HTTP), nested too deep. */
function unusable(err: unknown): boolean {
  return err instanceof AnswerTooLargeError || err instanceof ResultTooDeepError;
}

/** The upstream answered, so it is alive: an error answer, or one the gateway cannot pass on. Never the server's breaker failure. */
function answered(err: unknown): boolean {
  return err instanceof UpstreamProtocolError || unusable(err);
}

/**
 * One upstream MCP server behind the gateway: a lazily (re)connected SDK client, a circuit
 * breaker (opossum) counting only transport failures and timeouts, a concurrency limit and
 * an active health check. On a shared server (tenant `*`) a call's own timeout counts against its
 * tenant's circuit only (TenantBreakers, in front of the server's): what one tenant's calls provoke
 * must not refuse the others. The server's circuit counts what says the server itself is down (a
 * lost connection, a failed connect), and opens when its health check fails. A lost connection or
 * an expired session (HTTP 404) drops the client; the next call or health check connects again
 * and re-lists the tools.
 *
 * Timeouts and lost connections are told from what the gateway itself saw, never from an
 * McpError's code: the SDK gives its own RequestTimeout and ConnectionClosed the codes -32001 and
 * -32000, which an upstream may answer with as well (an answer is passed on, as any JSON-RPC
 * error). A timeout is the gateway's own Deadline passing; a lost connection is the client's
 * transport having closed (client.onclose, which the SDK calls before it fails the requests
 * still pending) before the failure reached the gateway.
 */
export class Upstream {
  private client?: Client;
  /** Clients whose transport closed (a stdio process that ended, a client the gateway closed). */
  private readonly closedClients = new WeakSet<Client>();
  private connecting?: Promise<Client>;
  /** The client of the connect in flight (open), which close() ends rather than wait for. */
  private opening?: Client;
  /** The latest transport opened (a stdio child's pid, also while it is still connecting). */
  private transport?: { pid?: number | null };
  private readonly breaker: CircuitBreaker<CallArgs, CallToolResult>;
  /** A shared server's: each calling tenant's circuit, in front of the server's `breaker`. */
  private readonly tenants?: TenantBreakers<CallArgs, CallToolResult>;
  private readonly limiter: ConcurrencyLimiter;
  private readonly requests: CallerRequests;
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** The last stderr lines of the latest stdio process (never of one started before it). */
  private lastStderr: string[] = [];
  /** How the latest stdio process ended, once it has. */
  private lastExit?: ExitStatus;
  /** The latest error of the latest stdio transport (a message it could not read, one past its size limit). */
  private lastTransportError?: Error;
  /** The health check in flight, if any. */
  private checking?: Promise<ServerHealth>;
  /** The half-open circuit is being opened again (reopen): its health is the health check's to say. */
  private reopening = false;
  /** Fails a call in flight whose answer, on its own answer stream, was too large (tooLarge). */
  private readonly tooLargeFor = new WeakMap<ActiveCall, (err: Error) => void>();
  /** The last event id of a call's answer stream (a resumable upstream's): what resuming it would ask for. */
  private readonly resumptionOf = new WeakMap<ActiveCall, string>();
  /** Listings of the tools started after tools/list_changed. */
  private listings = 0;
  /** Calls taken (in flight or queued): retire() lets them end before it closes. */
  private readonly calls = new Set<Promise<unknown>>();
  /** The controllers of the calls sent upstream: close() ends them at once (endSent). */
  private readonly sent = new Set<AbortController>();
  health: ServerHealth = 'unknown';

  constructor(
    readonly spec: UpstreamSpec,
    private readonly options: UpstreamOptions,
    private readonly events: UpstreamEvents,
  ) {
    const b = options.breaker;
    const shared = spec.tenant === SHARED_TENANT;
    this.breaker = new CircuitBreaker((name: string, args: Record<string, unknown>, call: CallOptions) => this.attempt(name, args, call), {
      timeout: false,
      errorThresholdPercentage: b.errorThresholdPercentage,
      volumeThreshold: b.volumeThreshold,
      resetTimeout: b.resetTimeoutMs,
      rollingCountTimeout: b.rollingCountTimeoutMs,
      // An answer from the upstream, even an error answer, means it is alive; a call its caller
      // cancelled says nothing about the upstream either, nor one the gateway ended as it shuts
      // down (shuttingDownError, a drain's cut-off: the calls it ends would open the circuit and
      // record the server down). On a shared server a call's own timeout is its tenant's (below),
      // except as the half-open circuit's one call through: passed as a success it would close the
      // circuit (and record the server up) though nothing answered; it opens it again, and a
      // health check the server answers closes it.
      errorFilter: (err: unknown) => {
        if (!saysNothing(err)) return answered(err) || (shared && err instanceof CallTimeoutError && !this.breaker.halfOpen);
        // Passed as a success, it would close a half-open circuit (and record the server up)
        // though nothing answered; counted as a failure, it would hold the circuit open for
        // another reset timeout for nothing the upstream did. So it opens it again, counting
        // nothing, and a health check decides at once (run before opossum emits the success,
        // which closes only a circuit still half-open).
        if (this.breaker.halfOpen) this.reopen((err as McpGatewayError).code === 'MCP_CALL_CANCELLED');
        return true;
      },
    });
    if (shared) {
      this.tenants = new TenantBreakers(
        (name: string, args: Record<string, unknown>, call: CallOptions) => this.breaker.fire(name, args, call),
        b,
        // The tenant's failures: its call's own timeout, an answer it could not take (too large,
        // too deep). Only an answer closes a tenant's half-open circuit: a lost connection, the
        // server's circuit refusing, a cancel, a shutdown say nothing of the tenant's calls.
        (err) => (err instanceof CallTimeoutError || unusable(err) ? 'failure' : err instanceof UpstreamProtocolError ? 'answer' : 'nothing'),
        // Naming nothing of the other tenants' calls: how they fare is theirs.
        () => new McpGatewayError('MCP_CIRCUIT_OPEN', `${this.label}: circuit open for this tenant's calls after repeated timeouts or answers too large or too deep (the server is shared: the other tenants' calls go on); retry later`),
        (tenant, state) => {
          if (!this.closed) this.events.onTenantCircuit?.(tenant, state);
        },
      );
    }
    this.breaker.on('open', () => {
      if (!this.reopening) this.setHealth('down', { reason: 'circuit opened', cause: { kind: 'circuit-open' } });
    });
    this.breaker.on('close', () => this.setHealth('up'));
    this.limiter = new ConcurrencyLimiter(options.maxConcurrent, options.maxQueue, `upstream ${spec.name}`, { shared });
    this.requests = new CallerRequests({ shared });
    if (options.healthIntervalMs > 0) {
      // One check at a time: one slow to answer (up to its ping's timeout) is not joined by more.
      this.timer = setInterval(() => void (this.checking ?? this.checkHealth()), options.healthIntervalMs);
      this.timer.unref();
    }
  }

  /**
   * How messages name this upstream. A shared server's (tenant `*`) by its name only: its URL is
   * the operator's configuration (an internal host, a path), and its messages reach every tenant's
   * callers and their ToolCallFailed events.
   */
  get label(): string {
    return this.spec.url && this.spec.tenant !== SHARED_TENANT ? `${this.spec.name} (${shownUrl(this.spec.url)})` : this.spec.name;
  }

  /** The server's circuit: on a shared server, open when the server itself is down (its tenants' own circuits aside). */
  get circuit(): CircuitState {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  /**
   * The circuit `tenant`'s calls meet: the server's; on a shared server the less closed of the
   * server's and the tenant's own (open, then half-open, then closed).
   */
  circuitFor(tenant: string): CircuitState {
    const server = this.circuit;
    if (!this.tenants || server === 'open') return server;
    const own = this.tenants.state(tenant);
    return own === 'closed' ? server : own === 'open' ? 'open' : 'half-open';
  }

  /** How many tenants' own circuits are open or half-open (a shared server's; 0 otherwise). */
  get tenantCircuitsOpen(): number {
    return this.tenants?.open ?? 0;
  }

  /** How many tenants have a breaker of their own now (a shared server's: those that called lately; 0 otherwise). */
  get tenantBreakers(): number {
    return this.tenants?.size ?? 0;
  }

  get inFlight(): number {
    return this.limiter.inFlight;
  }

  /** PID of a stdio upstream's process (for tests and operators). */
  get pid(): number | undefined {
    return (this.client?.transport as { pid?: number | null } | undefined)?.pid ?? undefined;
  }

  /** Connect (once; concurrent callers share the attempt), list tools and report them. */
  connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Client> {
    if (this.closed) throw new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `${this.label}: closed`);
    // Offered to every upstream; relayed per call to the caller that declared it (CallerRequests).
    // No sampling.tools, sampling.context or elicitation.url: a server adapts to a client without them.
    const client = new Client({ name: 'openmcp-gateway', version: '0.1.0' }, { capabilities: { sampling: {}, elicitation: { form: {} } }, jsonSchemaValidator: new DepthBoundedValidator() });
    this.opening = client;
    this.lastStderr = [];
    this.lastExit = undefined;
    this.lastTransportError = undefined;
    const timeout = this.options.connectTimeoutMs;
    try {
      // Only streamable HTTP gives each call an answer stream of its own, which ties a request to its call.
      const streams = this.spec.transport === 'http' ? new CallStreams<ActiveCall>() : undefined;
      // Inside the try: a header or env template whose variable is unset is a failed connect (health down, naming it).
      const transport = openUpstreamTransport(
        this.spec,
        {
          // An earlier process ending late (stopped while this one starts) says nothing of this one:
          // neither what it writes on its way out, nor how it ends.
          stderrLines: (lines) => {
            if (this.transport === transport) this.lastStderr = lines;
          },
          exit: (status) => {
            if (this.transport === transport) this.lastExit = status;
          },
          error: (err) => {
            if (this.transport === transport) this.lastTransportError = err;
          },
          // An event past 10 MiB (HTTP, SSE): the stream is cut. On a call's own answer stream
          // (streamable HTTP's POST) that call alone fails (its answer was too large; the server
          // is alive, the session intact). On any other stream the message could be any call's,
          // so the connection ends, as stdio's does; its calls fail at once, saying why
          // (lostConnectionText), rather than at their timeout.
          tooLarge: (err, init) => {
            if (this.transport !== transport) return;
            const call = streams?.callFor(init);
            if (call) {
              // Its stream resumed, a resumable upstream would replay that answer where no call owns it.
              const token = this.resumptionOf.get(call);
              if (token !== undefined) streams!.forgo(token);
              return this.tooLargeFor.get(call)?.(err);
            }
            // The answer stream of a call already ended (timed out, cancelled): nobody waits on it.
            if (streams?.postsCall(init)) return;
            this.lastTransportError = err;
            void this.drop(client);
          },
        },
        streams && ((f) => streams.fetch(f)),
        this.options.egress,
      );
      streams?.watch(transport);
      this.requests.install(client, streams);
      this.transport = transport as { pid?: number | null };
      // Set before connecting: an upstream may log while it initializes.
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        if (!this.closed) this.events.onLog?.(n.params);
      });
      client.onclose = () => {
        this.closedClients.add(client);
        if (this.client === client) this.client = undefined;
      };
      await this.timed(timeout, { request: 'initialize', connecting: true }, (o) => client.connect(transport, o));
      const tools = await this.listTools(client, timeout, true);
      // An upstream whose tools change says so (it advertised tools.listChanged): list them again,
      // so the catalog, search and the gateway's own clients (list_changed) follow without a reconnect.
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void this.relist(client));
      if (this.closed) {
        await client.close().catch(() => {});
        throw new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `${this.label}: closed`);
      }
      this.client = client;
      this.setHealth('up');
      this.events.onTools(tools);
      return client;
    } catch (err) {
      // Taken before close(), which ends the process: that exit says nothing of why it failed.
      // The connection was lost if this upstream is closing, or a stdio process had ended (its
      // exit, or its transport's close). Not an HTTP client's closed flag: the SDK closes the
      // client on a failed initialize before it rethrows, and that close is at once over HTTP
      // (only when the process has closed over stdio); an HTTP transport never closes by itself.
      const exit = this.lastExit;
      const lost = this.closed || exit !== undefined || (this.spec.transport === 'stdio' && this.closedClients.has(client));
      await client.close().catch(() => {});
      const e = this.classify(err, lost);
      this.setHealth('down', { reason: e.message, cause: healthCauseOf(e, exit) });
      throw e;
    } finally {
      if (this.opening === client) this.opening = undefined;
    }
  }

  /**
   * Send one request of the gateway's own (initialize, tools/list, ping) under a Deadline: its
   * passing is MCP_UPSTREAM_TIMEOUT; any other failure is left as it came, for classify.
   * Raced with the deadline, not only given its signal: what the signal does not reach (the SDK's
   * notifications/initialized after initialize, an SSE transport waiting for its endpoint) would
   * wait for ever, and every call, health check and close() with it (they wait on the connect).
   * The caller then closes the client, which ends what is left.
   */
  private async timed<T>(ms: number, what: { request: 'initialize' | 'tools/list' | 'ping'; connecting?: boolean }, send: (options: RequestOptions) => Promise<T>): Promise<T> {
    const deadline = new Deadline(ms);
    const expired = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', () => reject(deadline.reason), { once: true }));
    try {
      return await Promise.race([send({ signal: deadline.signal, timeout: SDK_TIMEOUT_OFF }), expired]);
    } catch (err) {
      // Named: a call waiting on a connect read "no answer within 10000 ms", as if its tool had not answered.
      if (deadline.isExpiry(err)) {
        // While connecting, which setting bounded it (the gateway's, or the server's own): the one to raise.
        const setting = what.connecting && this.options.connectTimeoutSetting ? ` (${this.options.connectTimeoutSetting})` : '';
        throw new McpGatewayError('MCP_UPSTREAM_TIMEOUT', `${this.label}: no answer to ${what.request} within ${ms} ms${what.connecting ? ', while connecting' : ''}${setting}`, { cause: err });
      }
      throw err;
    } finally {
      deadline.clear();
    }
  }

  private listTools(client: Client, timeout: number, connecting = false): Promise<Tool[]> {
    return listAllTools((cursor) => this.timed(timeout, { request: 'tools/list', connecting }, (o) => client.listTools(cursor ? { cursor } : undefined, o)), this.label);
  }

  /** List the tools of a connected client again and report them (after the upstream said they changed). */
  private async relist(client: Client): Promise<void> {
    // Changes in quick succession start listings that may finish out of order: only the latest counts.
    const listing = ++this.listings;
    try {
      const tools = await this.listTools(client, this.options.connectTimeoutMs);
      if (this.client === client && !this.closed && listing === this.listings) this.events.onTools(tools);
    } catch {
      // The catalog would keep the old tools: drop the connection, the next call or health check
      // connects again and lists them (as after any lost connection).
      await this.drop(client);
    }
  }

  /**
   * Call a tool (its upstream name). Retries only when `retryable` (read-only and idempotent)
   * and the connection was lost (the call may not have reached the tool). A timeout is not
   * retried: the upstream is slow, not gone, and a retry would make the caller wait a multiple
   * of MCP_CALL_TIMEOUT_MS.
   */
  call(name: string, args: Record<string, unknown>, retryable: boolean, options: CallOptions = {}): Promise<CallToolResult> {
    const call = this.run(name, args, retryable, options);
    const settled: Promise<void> = call.then(
      () => void this.calls.delete(settled),
      () => void this.calls.delete(settled),
    );
    this.calls.add(settled);
    return call;
  }

  private run(name: string, args: Record<string, unknown>, retryable: boolean, options: CallOptions): Promise<CallToolResult> {
    const { signal } = options;
    return this.limiter.run(async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await (this.tenants ? this.tenants.fire(options.owner ?? '', name, args, options) : this.breaker.fire(name, args, options));
        } catch (err) {
          const e = this.breakerError(err);
          // Not an answer too large: the same call would be answered as much again.
          const transient = e.code === 'MCP_UPSTREAM_UNAVAILABLE' && !(e instanceof AnswerTooLargeError);
          if (!retryable || !transient || attempt >= this.options.retries || this.closed || signal?.aborted) throw e;
          await new Promise((r) => setTimeout(r, this.options.retryBackoffMs * (attempt + 1)));
        }
      }
    }, signal, options.owner);
  }

  private async attempt(name: string, args: Record<string, unknown>, { signal, onProgress, ask }: CallOptions): Promise<CallToolResult> {
    for (let reinit = 0; ; reinit++) {
      if (signal?.aborted) throw cancelledError(signal);
      // A caller that gives up (cancelled, or the gateway shutting down) stops waiting for the
      // connection at once, not at the connect timeout; the connect goes on for the other calls.
      const client = await unlessAborted(this.connect(), signal);
      // Cancelled while connecting: the listener added below never hears an abort already past,
      // and the call would be sent (and run) all the same.
      if (signal?.aborted) throw cancelledError(signal);
      // The call timeout counts from the last sign of life: each progress notification restarts
      // it, so a long tool that reports progress is not cut off, and one that goes quiet still is.
      // A hard maximum bounds a tool that reports progress forever. It is ours, not the SDK's
      // maxTotalTimeout, because aborting a signal also sends notifications/cancelled upstream
      // (the SDK's maximum only stops waiting and leaves the tool running).
      const maxMs = this.options.callTimeoutMs * CALL_MAX_TIMEOUT_FACTOR;
      // One controller per call, aborted by its caller's cancellation, by the call timeout (a
      // Deadline: the SDK's own would fail the call with the code an upstream may answer with) and
      // by the hard timer, armed at the first progress notification only and cleared when the call
      // ends. AbortSignal.timeout and AbortSignal.any cost more per call, and the former's timer
      // cannot be cleared: every call left one pending for the whole maximum.
      const ac = new AbortController();
      const deadline = new Deadline(this.options.callTimeoutMs, ac);
      // Ends when the call ends, however: a request relayed to its caller must not outlive it.
      const ended = new CallEnd();
      let hard = false;
      let hardTimer: NodeJS.Timeout | undefined;
      const cancel = () => ac.abort(signal!.reason);
      signal?.addEventListener('abort', cancel, { once: true });
      this.sent.add(ac);
      try {
        // The SDK sends a progress token only with `onprogress`: always asked for, or the upstream could not show it is alive.
        const options = {
          timeout: SDK_TIMEOUT_OFF,
          signal: ac.signal,
          onprogress: (p: Progress) => {
            deadline.restart();
            hardTimer ??= setTimeout(() => {
              hard = true;
              ac.abort();
            }, maxMs);
            onProgress?.(p);
          },
          onresumptiontoken: (token: string) => void this.resumptionOf.set(call, token),
        };
        const call = { client, ask, ended, timeout: maxMs };
        this.tooLargeFor.set(call, (err) => ac.abort(new AnswerTooLargeError(this.label, err)));
        const result = (await this.requests.within(call, () => client.callTool({ name, arguments: args }, undefined, options))) as CallToolResult;
        // Measured (without recursion) before anything recursive reads it: wellFormed, the audit's hash.
        if (bodyDepth(result, MAX_RESULT_DEPTH) > MAX_RESULT_DEPTH) throw new ResultTooDeepError(this.label, MAX_RESULT_DEPTH);
        // Well-formed where it enters: the caller, the audit's resultJson and resultHash all have the same text.
        return wellFormed(result);
      } catch (err) {
        // Cancelled by our caller: the SDK rejects with a RequestTimeout that is not one.
        if (signal?.aborted) throw cancelledError(signal);
        // Its answer, on its own answer stream, was too large (tooLarge): the SDK rejects with the abort's reason.
        if (ac.signal.reason instanceof AnswerTooLargeError) throw ac.signal.reason;
        // Ended by close() (endSent): the SDK rejects with the abort's reason wrapped in a RequestTimeout.
        if (this.closed && ac.signal.reason instanceof McpGatewayError) throw ac.signal.reason;
        // Its answer, a JSON body, was too large (boundedFetch): the connection is as it was.
        const tooLarge = messageTooLarge(err);
        if (tooLarge && !this.closedClients.has(client)) throw new AnswerTooLargeError(this.label, tooLarge);
        if (hard) {
          throw new CallTimeoutError(`${this.label}: no answer within ${maxMs} ms (${CALL_MAX_TIMEOUT_FACTOR} times the call timeout), progress notwithstanding; the call was cancelled upstream`, err);
        }
        if (deadline.isExpiry(err)) {
          throw new CallTimeoutError(`${this.label}: no answer, nor progress, within ${this.options.callTimeoutMs} ms`, err);
        }
        // A 404 means the upstream forgot our session (restart, expiry): it never ran the call, so one fresh session is safe.
        if (err instanceof StreamableHTTPError && err.code === 404 && reinit === 0) {
          await this.drop(client);
          continue;
        }
        // Whether the connection had closed is read as the failure arrives (only microtasks
        // between the SDK's rejection and here): an error the upstream answered just before its
        // process ended stays its answer.
        const e = this.classify(err, this.closedClients.has(client));
        // Closing (endSent), close() ends the connection itself: the call is answered without waiting for that.
        if (e.code === 'MCP_UPSTREAM_UNAVAILABLE' && !this.closed) await this.drop(client);
        throw e;
      } finally {
        this.sent.delete(ac);
        ended.end();
        deadline.clear();
        clearTimeout(hardTimer);
        signal?.removeEventListener('abort', cancel);
      }
    }
  }

  /**
   * Open the half-open circuit again after a call through it that says nothing of the upstream
   * (saysNothing), and, `check`, check its health now: answered, the circuit closes (as any health
   * check answered closes it); else it stays open until its next call through or health check.
   * Its opening records nothing: the server's health is what it was (down, or up if that call's
   * connect was answered), until the check says. No check for a call the gateway's shutdown cut
   * off: it would connect (start a stdio process) as the gateway closes. Nor while health checks
   * are off (MCP_HEALTH_INTERVAL_MS=0: no ping is sent, the reset timer half-opens it again) or
   * the upstream retires (its checks stopped: the new connection's are the server's health), nor
   * while one is in flight (cancels in a row start one check, not one each).
   */
  private reopen(check: boolean): void {
    this.reopening = true;
    try {
      this.breaker.open();
    } finally {
      this.reopening = false;
    }
    if (check && this.timer && !this.checking) void this.checkHealth();
  }

  private breakerError(err: unknown): McpGatewayError {
    if (err instanceof McpGatewayError) return err;
    if ((err as { code?: string })?.code === 'EOPENBREAKER') {
      return new McpGatewayError('MCP_CIRCUIT_OPEN', `${this.label}: circuit open after repeated failures; retry later`);
    }
    // attempt throws the gateway's errors only: nothing here says the connection was lost.
    return this.classify(err, false);
  }

  /**
   * A failure other than the gateway's own timeout (a Deadline's, told apart by its caller) as
   * the gateway's error. An McpError is what the upstream answered, passed on with its code and
   * message whatever the code, unless it is the SDK's ConnectionClosed for a connection that was
   * `lost`: closed before the failure reached the gateway (an upstream may answer -32000 too).
   * Anything else (a transport's error, a process that could not start) is MCP_UPSTREAM_UNAVAILABLE.
   */
  private classify(err: unknown, lost: boolean): McpGatewayError {
    if (err instanceof McpGatewayError) return err;
    // Its text well-formed (wellFormed) as it enters: the caller is told what ToolCallFailed records.
    if (err instanceof McpError && !(lost && err.code === ErrorCode.ConnectionClosed)) {
      const secrets = upstreamSecrets(this.spec);
      // Data deeper than the audit can hash is left out (the code and message are the answer).
      const data = bodyDepth(err.data, MAX_RESULT_DEPTH) > MAX_RESULT_DEPTH ? undefined : err.data;
      return new UpstreamProtocolError(err.code, wellFormed(withoutSecrets(err.message.replace(/^MCP error -?\d+: /, ''), secrets)), wellFormed(withoutSecretsIn(data, secrets)));
    }
    // The stderr lines are the upstream's own text (it may echo a call's arguments): kept apart in
    // the details too. So is how its process ended: under MCP_PAYLOAD_POLICY=hash-only the audit
    // records the exit code in place of the message (callFailureText).
    // A URL's credentials redacted and the secrets' values replaced before the cut: cut inside
    // one, what is left is no URL redactUrlsIn can find, no value withoutSecrets can.
    // Its last few lines (STDERR_LINES), each cut at 300 characters, joined by ` | `.
    const secrets = upstreamSecrets(this.spec);
    const stderr = this.spec.tenant !== SHARED_TENANT ? this.lastStderr.map((line) => wellFormed(cutText(withoutSecrets(redactUrlsIn(line), secrets), 300))).join(' | ') : '';
    const details = { ...(stderr ? { stderr } : {}), ...(this.lastExit ? { exit: this.lastExit } : {}) };
    return new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', wellFormed(withoutSecrets(`${this.label}: ${this.describe(err)}${stderr ? ` (stderr: ${stderr})` : ''}`, secrets)), {
      // Kept for what it was (healthCauseOf), its text without the secrets' values: a log writes it whole.
      cause: withoutSecretsIn(err, secrets),
      ...(Object.keys(details).length ? { details } : {}),
    });
  }

  /**
   * What a caller, the server's health reason and the log may be told of a transport failure.
   * Never an HTTP upstream's response body (registering an internal URL would read it back),
   * nor the URL's credentials (fetch repeats the URL it refuses). classify adds the stderr line,
   * except a shared server's (it may hold another tenant's call). Other text here may still come
   * from the upstream (an SDK error quoting what it answered): under MCP_PAYLOAD_POLICY=hash-only
   * the log records a health change by healthCauseOf's classification instead (healthChangeEvent),
   * and a failed call by the gateway's own words for it (failureOf).
   */
  private describe(err: unknown): string {
    const code = (err as { code?: unknown }).code;
    if (err instanceof StreamableHTTPError || err instanceof SseError) {
      return typeof code === 'number' && code > 0 ? `the upstream answered HTTP ${code}` : 'the upstream could not be reached';
    }
    // classify passes the SDK's ConnectionClosed on as an answer unless the connection was lost:
    // here it was, and its own words ("MCP error -32000: Connection closed") say neither why nor
    // that it is no answer (-32000 is a code upstreams answer with too).
    if (err instanceof McpError && code === ErrorCode.ConnectionClosed) return this.lostConnectionText();
    // The gateway's own words, naming no address or command: said of a shared server too.
    if (isMessageTooLarge(err)) return (err as Error).message;
    // A shared server's failure reaches every tenant's callers: the gateway's own words only, as
    // its text names the address it could not reach or the command it could not start.
    if (this.spec.tenant === SHARED_TENANT) return healthCauseText(healthCauseOf(err, this.lastExit));
    const text = err instanceof Error ? err.message : String(err);
    // Node says "spawn tsx ENOENT" for a program, or a working directory, this process cannot find:
    // most often a bare name or a relative path, which depends on where each process runs.
    const syscall = (err as { syscall?: unknown }).syscall;
    if (code === 'ENOENT' && typeof syscall === 'string' && syscall.startsWith('spawn')) {
      return `${text}: no such program or directory here; give the command (and its files) as absolute paths, which every gateway process and every openmcp mcp stdio can run from its own working directory and PATH`;
    }
    // undici says only "fetch failed"; why (a refused connection, a name that does not resolve,
    // a certificate) is in its cause, which holds the address and no response body.
    const cause = (err as { cause?: { message?: unknown } }).cause;
    return redactUrlsIn(text === 'fetch failed' && typeof cause?.message === 'string' ? `${text}: ${cause.message}` : text);
  }

  /**
   * Why the connection was lost, as far as the gateway saw it: closed by the gateway itself
   * (removal, shutdown), how the stdio process ended, and the transport's last error (a tenant's
   * own server only: it may quote what the process wrote, like its stderr).
   */
  private lostConnectionText(): string {
    if (this.closed) return 'the connection closed: the gateway closed it (the server was removed, or the gateway is stopping)';
    const exit = this.lastExit ? healthCauseText(exitCause(this.lastExit)) : undefined;
    const last = this.lastTransportError;
    // A shared server's transport error may quote what its process wrote; the size limit's is the gateway's own words.
    // The secrets' values replaced before the cut, as a URL's credentials are: cut inside one, what is left is no value to find.
    const error = last && (this.spec.tenant !== SHARED_TENANT || isMessageTooLarge(last)) ? cutText(withoutSecrets(redactUrlsIn(last.message), upstreamSecrets(this.spec)), 300) : undefined;
    if (error) return `the connection closed after the transport's error: ${error}${exit ? `; ${exit}` : ''}`;
    return exit ? `the connection closed: ${exit}` : 'the connection closed';
  }

  private async drop(client: Client): Promise<void> {
    if (this.client === client) this.client = undefined;
    await client.close().catch(() => {});
  }

  /**
   * Ping (connecting first if needed). Closes the breaker when the upstream answers again. A shared
   * server's failing opens it: its calls' timeouts count for their tenants only, so without this a
   * server that hangs for all would hold each tenant until enough of its own calls had timed out.
   */
  async checkHealth(): Promise<ServerHealth> {
    const check = this.check();
    this.checking = check;
    try {
      return await check;
    } finally {
      if (this.checking === check) this.checking = undefined;
    }
  }

  private async check(): Promise<ServerHealth> {
    if (this.closed) return this.health;
    let client: Client | undefined;
    try {
      client = await this.connect();
      const c = client;
      await this.timed(Math.min(this.options.callTimeoutMs, 5_000), { request: 'ping' }, (o) => c.ping(o));
      if (this.breaker.opened || this.breaker.halfOpen) this.breaker.close();
      this.setHealth('up');
    } catch (err) {
      const e = this.classify(err, client !== undefined && this.closedClients.has(client));
      const cause = healthCauseOf(e, this.lastExit);
      // Said before the drop, which waits for a stdio process to end (seconds, for one that hangs):
      // a call meanwhile connects again, and its 'up' must come after this 'down', not before it.
      this.setHealth('down', { reason: e.message, cause });
      if (this.tenants && !this.closed && !this.breaker.opened) this.breaker.open();
      if (this.client) await this.drop(this.client);
    }
    if (!this.closed && this.health !== 'unknown') this.events.onChecked?.(this.health);
    return this.health;
  }

  private setHealth(status: Exclude<ServerHealth, 'unknown'>, failure?: HealthFailure): void {
    if (this.health === status || this.closed) return;
    this.health = status;
    this.events.onHealth(status, failure);
  }

  /**
   * Kill a stdio upstream's process at once (SIGKILL), synchronously: for a process that exits
   * without close() — past its shutdown deadline, on a second signal — whose child would
   * otherwise outlive it, still running the call it was given. close() is the graceful way.
   */
  kill(): void {
    this.closed = true;
    const pid = this.transport?.pid;
    if (!pid) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  /**
   * Close once the calls it took have ended (each within its own timeout), checking its health no
   * more meanwhile: for the connection a reconfigured server no longer uses, whose calls in flight
   * (or queued) finish there while new ones go to the new connection. close() ends them at once.
   */
  async retire(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.calls.size) await Promise.all([...this.calls]);
    await this.close();
  }

  /**
   * Fail the calls sent upstream now, each cancelled there (notifications/cancelled, while the
   * connection is still open): their callers are answered at once, not once the connection has
   * closed — for a stdio server, once its process has ended, which the MCP SDK's client waits
   * for up to 4 s (stdin closed, then SIGTERM, then SIGKILL), however long the call had to run.
   */
  private endSent(): void {
    for (const ac of this.sent) ac.abort(new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `${this.label}: ${this.lostConnectionText()}`));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.breaker.shutdown();
    this.tenants?.close();
    this.endSent();
    // A connect in flight ends now (its transport closed: a stdio server's process stops), not at
    // its connect timeout: a shutdown while a server slow to start registers (openmcp start
    // listens before its registrations end) would otherwise wait up to MCP_CONNECT_TIMEOUT_MS for it.
    await this.opening?.close().catch(() => {});
    const c = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await c?.close().catch(() => {});
  }
}
