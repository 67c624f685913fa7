import { createHash, timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import type { CallToolResult, LoggingMessageNotification, Tool } from '@modelcontextprotocol/sdk/types.js';
import { Registry, type Counter } from 'prom-client';
import { catalog as eventCatalog } from '../../events';
import { limitsOf, MCP_SERVER_SETTINGS, type McpServerLimits, type McpServerSetting } from '../../events/mcp.events';
import { createEvent, parseStream, type Actor, type PendingEvent, type RecordedEvent } from '../core/envelope';
import { bodyDepth, MAX_BODY_DEPTH, MAX_RESULT_DEPTH } from '../core/body-depth';
import { ConfigError, InvalidTransitionError, NotFoundError, OpenMcpError, ValidationError, WrongExpectedRevisionError, redactUrlsIn, urlHoldsCredentials } from '../core/errors';
import type { Clock } from '../core/clock';
import type { Cache } from '../cache/port';
import { MemoryCache } from '../cache/memory';
import { followLog, type LogFollower } from '../eventstore/follow-log';
import type { EventStore, ExpectedRevision } from '../eventstore/port';
import { ToolSearch, type ToolSearchStatus } from '../search/tool-search';
import { keptPayload, MAX_STORED_PAYLOAD_CHARS, ToolCallAudit, type PayloadPolicy } from './audit';
import { payloadAad, sealFields, sealSaltedPayload, sealSaltOnly, type SaltedSeal, type SaltOnlySeal, type SealedPayload } from '../erasure/sealed-payload';
import { newPayloadSalt } from '../erasure/salted-hash';
import { subjectOf } from '../erasure/subject';
import type { SubjectKeyStore } from '../erasure/subject-key-store';
import { failureOf, withheldDigest } from './call-failure';
import { MCP_SERVER_STREAM_PREFIX, ToolCatalog, type CatalogChange } from './catalog';
import type { ConfigSource } from './config-source';
import { cancelledError, eitherSignal, McpGatewayError, shuttingDownError, unlessAborted } from './errors';
import { cutLogData, cutLoggerName, defaultLogRelayLimits, logDropCounter, LogRate, type LogDropReason, type LogRelayLimits } from './log-relay';
import { healthChangeEvent, ownVariableOf, type HealthFailure } from './health-change';
import { ReplicaPresence, replicaActorId } from './replica-presence';
import { serverIdFor } from './server-id';
import { payloadDigest } from './payload-hash';
import { resultCacheKey, resultCacheTtlMs } from './result-cache';
import { envRecord, missingEnvVariables } from './upstream-env';
import { missingVariables } from './upstream-headers';
import { isUrlTemplate, maskedTemplate, missingUrlVariables, shownUrl } from './upstream-url';
import { registrationProblem } from './register-schema';
import { toolRecords } from './tool-records';
import { DEFAULT_TOOLS_PAGE_SIZE } from './tools-page';
import { Upstream, defaultUpstreamOptions, type CallOptions, type UpstreamOptions } from './upstream';
import { createMetrics } from '../metrics/metrics';
import { trackTenantCircuits } from './tenant-circuits-gauge';
import { SHARED_TENANT, type CallContext, type CatalogTool, type RegisterServerParameters, type ServerInfo, type UpstreamSpec } from './types';
import { loneSurrogateIn } from '../core/lone-surrogate';
import { wellFormed } from '../core/well-formed';
import { didYouMean } from '../core/tool-name';

export type McpGatewayOptions = {
  store: EventStore;
  /** Response cache for read-only idempotent tools (Redis in production). Default: in-memory. */
  cache?: Cache;
  /** Tool search (hybrid when built with a model). Default: lexical-only. */
  search?: ToolSearch;
  /** Whether tool arguments and results are stored in the audit events, only hashed, or encrypted per subject. Default `store`. */
  payloadPolicy?: PayloadPolicy;
  /** The subjects' data keys: required under `payloadPolicy: 'encrypted'`. */
  subjectKeys?: SubjectKeyStore;
  /**
   * TTL of cached results of read-only idempotent tools; 0 turns the cache off. Default 5000, or
   * 0 (off) under `payloadPolicy: 'hash-only'` (resultCacheTtlMs): the cache keeps results whole.
   */
  cacheTtlMs?: number;
  upstream?: Partial<UpstreamOptions>;
  /** Tools per tools/list page (the first page leads with search_tools). Default 500 (MCP_TOOLS_PAGE_SIZE). */
  toolsPageSize?: number;
  /** Servers one tenant may register with registerServer (MCP_MAX_SERVERS_PER_TENANT); none when unset. ensureServer (the configuration's) is not limited. */
  maxServersPerTenant?: number;
  clock?: Clock;
  logger?: { warn(obj: unknown, msg?: string): void; info?(obj: unknown, msg?: string): void; debug?(obj: unknown, msg?: string): void };
  /**
   * Follow the log after start() so registry changes made by other processes (another gateway
   * replica, an API process, a CLI) reach this catalog and this process connects to their
   * upstreams too. Default true; off only for a process that is the log's only writer.
   */
  follow?: boolean;
  /** How much of the upstreams' logging is relayed to clients (size of a message's data, rate per upstream). */
  logRelay?: Partial<LogRelayLimits>;
  /**
   * Names this replica as the actor of the health changes it records (McpServerHealthChanged).
   * Default: `mcp-gateway:<host>:<pid>:<random>` (replicaActorId), unique per process.
   */
  replicaId?: string;
  /**
   * How long this replica's presence (`mcp-replica:<id>` in `cache`) outlives its last renewal
   * (renewed every third of it): a "down" recorded by a replica gone that long is set right by
   * a replica that finds the server up. Default 3 × the health interval, at least 30 s.
   */
  presenceTtlMs?: number;
  /** Where the gateway's metrics go (openmcp_mcp_log_messages_dropped_total, openmcp_mcp_tenant_circuits_open, failed calls in openmcp_errors_total). Default: a registry of its own. */
  registry?: Registry;
  /** How long at most a server new to the catalog holds listings back (holdListing). Default LISTING_HOLD_MS; tests change it. */
  listingHoldMs?: number;
};

/**
 * How long at most, from its start (holdListing), a start-up registration of a server new to the
 * catalog holds listings back (tools/list, search_tools, GET /v1/tools): long enough for a server
 * that starts at once to be in a first listing, short enough that one that hangs (up to the
 * connect timeout, MCP_CONNECT_TIMEOUT_MS) does not keep every client's tools/list waiting. Past it, listings answer
 * from the catalog as it is, and the server's tools come later with notifications/tools/list_changed.
 */
export const LISTING_HOLD_MS = 3_000;

export type ToolMatch = { tool: CatalogTool; score: number };

/**
 * callTool's options: the upstream call's, and `decidedAs`, the `<server>__<tool>` name the caller
 * decided on (the agent runtime's policy). A name that resolves to a tool of another namespaced
 * name (an alias the catalog gained after the decision) is refused, MCP_TOOL_NOT_FOUND, before
 * anything is recorded: the rules judged one name, the call must not reach another tool.
 */
export type GatewayCallOptions = CallOptions & { decidedAs?: string };

export type RemoveServerOptions = {
  /** The caller acts for every tenant (a cross-tenant admin): it may remove a shared server (tenant `*`). */
  crossTenant?: boolean;
};

/** A server's key among those of the configuration: names are unique per tenant. */
function configuredKey(tenant: string, name: string): string {
  return `${tenant}/${name}`;
}

/** An upstream's log message as the gateway relays it: `logger` is `<server>` or `<server>/<the upstream's logger>`. */
export type UpstreamLog = LoggingMessageNotification['params'];

const SYSTEM_ACTOR: Actor = { kind: 'system', id: 'mcp-gateway' };

/** Registrations of one name that lose a race are retried this many times (the winner may be removed meanwhile). */
const REGISTER_ATTEMPTS = 3;

/** The same templates (headers or env), in any order. */
function sameTemplates(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const sorted = (h?: Record<string, string>) => JSON.stringify(Object.entries(h ?? {}).sort(([x], [y]) => x.localeCompare(y)));
  return sorted(a) === sorted(b);
}

/**
 * Which of a registered server's settings, as the log records them (McpServerRegistered,
 * McpServerReconfigured: env names and templates, the URL redacted or its template), `p` gives alike.
 */
function sameSettings(existing: Omit<ServerInfo, 'toolCount'>, p: RegisterServerParameters): Record<McpServerSetting, boolean> {
  return {
    transport: existing.transport === p.transport,
    command: existing.command === p.command,
    args: JSON.stringify(existing.args ?? []) === JSON.stringify(p.args ?? []),
    env: JSON.stringify(existing.envKeys ?? []) === JSON.stringify(p.env ? Object.keys(p.env).sort() : []) && sameTemplates(existing.env, p.env && envRecord(p.env).templates),
    // A template as written (the same template is the same server), any other URL as masked.
    url: existing.url === (p.url ? shownUrl(p.url) : undefined),
    limits:
      existing.limits?.timeoutMs === p.limits?.timeoutMs &&
      existing.limits?.connectTimeoutMs === p.limits?.connectTimeoutMs &&
      existing.limits?.maxConcurrent === p.limits?.maxConcurrent,
    headers: sameTemplates(existing.headers, p.headers),
  };
}

/** SHA-256 of `value`, to compare a secret in constant time without keeping or showing it. */
function digestOf(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** What a tenant reads of why a shared server is down, in place of the reason itself. */
export const SHARED_HEALTH_REASON_WITHHELD = "the reason is withheld: it names the shared server's configuration, which cross-tenant principals read";

/** A shared server as a tenant sees it: what it is and how it is doing, not how the operator starts it. */
function withoutConfiguration(s: ServerInfo): ServerInfo {
  const { command: _c, args: _a, envKeys: _k, env: _e, url: _u, headers: _h, ...seen } = s;
  // The reason names the URL (host, path, query) or the command ("spawn /opt/… ENOENT"), and the
  // address it could not reach: the configuration itself, in other words.
  return seen.healthReason === undefined ? seen : { ...seen, healthReason: SHARED_HEALTH_REASON_WITHHELD };
}

/** `ac`, its signal heard by any number of listeners (each call in flight adds one) without Node's leak warning past 10. */
function unlimitedListeners(ac: AbortController): AbortController {
  setMaxListeners(0, ac.signal);
  return ac;
}

/** Microseconds since `t0` (an hrtime bigint), as a safe integer. */
function sinceUs(t0: bigint): number {
  return Number((process.hrtime.bigint() - t0) / 1000n);
}

/** What MCP_SECRET_MISSING tells to do: the variable is the gateway's, never the client's that registers. */
const SET_IT_THERE = ": set it in the environment the gateway runs in (openmcp start's, not the client's), restart the gateway, and register again";

/**
 * Many MCP servers behind one endpoint. The registry is event-sourced (`mcpserver-<id>` streams)
 * into an in-memory catalog that serves tools/list without touching upstreams; every tools/call
 * is audited (`toolcall-<id>` streams, see ToolCallAudit) before its result is returned.
 * After start() the gateway follows the log, so servers registered, reconfigured or removed by any process
 * sharing it appear here (and are connected from here) without a restart.
 *
 * @example
 * const gw = new McpGateway({ store });
 * await gw.start();
 * await gw.registerServer({ tenant: 'acme', actor, name: 'files', transport: 'stdio', command: 'npx', args: ['tsx', 'srv.ts'] });
 * await gw.callTool({ tenant: 'acme', actor }, 'files__read', { path: 'a.txt' });
 */
export class McpGateway {
  readonly catalog = new ToolCatalog();
  readonly search: ToolSearch;
  private readonly upstreams = new Map<string, Upstream>();
  /** Connections a reconfigured server no longer uses, until the calls they took have ended (Upstream.retire). */
  private readonly retiring = new Set<Upstream>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly indexed = new Map<string, string[]>();
  private readonly cache: Cache;
  private readonly upstreamOptions: UpstreamOptions;
  readonly payloadPolicy: PayloadPolicy;
  /** Tools per tools/list page (at least 1). */
  readonly toolsPageSize: number;
  private readonly cacheTtlMs: number;
  /** Servers this process is registering: it attaches their upstream itself, with the secrets the log does not hold. */
  private readonly registering = new Set<string>();
  /** Servers this process's configuration registers at every start, by configuredKey: the setting that does. */
  private readonly configured = new Map<string, ConfigSource>();
  /** Per configuredKey: the last generation of the name seen taken (serverIdFor), so probing starts there. */
  private readonly generations = new Map<string, number>();
  /** Per configuredKey: registrations of one name in this process run one at a time (see oneAtATime). */
  private readonly naming = new Map<string, Promise<unknown>>();
  /**
   * Per server id: the ensureServer (or ensureDefaultServer) of a server already registered, until
   * it has settled. A call to it waits for it (audited), since the connection it has meanwhile may
   * be start()'s, with the log's settings: a reconfiguration's old ones, and no env value or cwd of
   * this process (`openmcp mcp stdio` serves calls while its configured servers register).
   */
  private readonly ensuring = new Map<string, Promise<unknown>>();
  /**
   * Start-up registrations of servers the catalog does not know yet (a first start), until each has
   * settled (holdListing): a tools/call of a tool not in the catalog (and a task's step naming one)
   * waits for them, so that it does not miss their tools.
   */
  private readonly newcomers = new Set<Promise<void>>();
  /**
   * The same registrations, each until it settles or LISTING_HOLD_MS has passed since holdListing
   * (`listingHoldMs`), whichever comes first: listings wait for these (listingHeld), so that a first
   * listing has the newcomers' tools, but never long for one that hangs.
   */
  private readonly listingHolds = new Set<Promise<void>>();
  /** Ends every hold of holdListing at once (releaseListing: a shutdown begins). */
  private releaseHolds!: () => void;
  private readonly holdsReleased = new Promise<void>((resolve) => (this.releaseHolds = resolve));
  /** Calls in progress: close() waits for their audit outcome to be recorded. */
  private readonly calls = new Set<Promise<unknown>>();
  /** The callers' error salts (CallContext.payloadSalts.error) sealed into a ToolCallFailed v2: errorDigestSealed. */
  private readonly sealedErrorSalts = new WeakSet<Buffer>();
  /**
   * Aborted by endInFlight (the drain's cut-off) with shuttingDownError: every call in flight ends
   * on it (waiting for a connection, queued, or running upstream, which is cancelled), and so does
   * a registerServer waiting for its connection.
   */
  private readonly shutdown = unlimitedListeners(new AbortController());
  private readonly logListeners = new Set<(tenant: string, log: UpstreamLog) => void>();
  private readonly logLimits: LogRelayLimits;
  /** Per upstream (by server id): its log messages over the relay rate are dropped. */
  private readonly logRates = new Map<string, { rate: LogRate; warnedAt: number }>();
  private readonly logsDropped: Counter<'reason'>;
  /** `openmcp_errors_total`: each failed tools/call under its code, as REST errors are (an MCP error answer is HTTP 200). */
  private readonly callErrors: Counter<'code'>;
  private following?: LogFollower;
  private closed = false;
  /** `type@version` of registry events of a newer release already warned about (once each). */
  private readonly newerWarned = new Set<string>();
  /** This replica, as the actor of the health changes it records; alive while `presence` says so. */
  private readonly healthActor: Actor;
  /** Servers this replica cannot reach for a variable its own environment lacks (unrecorded), with why: `<id>` to the failure. */
  private readonly ownFailures = new Map<string, HealthFailure>();
  /** `<server id> <variable>` already warned of: once each, not every health interval. */
  private readonly warnedVariables = new Set<string>();
  private readonly presence: ReplicaPresence;

  constructor(private readonly options: McpGatewayOptions) {
    this.cache = options.cache ?? new MemoryCache(10_000);
    this.search = options.search ?? ToolSearch.lexicalOnly('no embedding model configured (EMBEDDING_MODEL_DIR unset)');
    this.payloadPolicy = options.payloadPolicy ?? 'store';
    if (this.payloadPolicy === 'encrypted' && !options.subjectKeys) throw new ConfigError('MCP_PAYLOAD_POLICY=encrypted needs a subject key store (subjectKeys)', { variable: 'MCP_PAYLOAD_POLICY' });
    this.cacheTtlMs = resultCacheTtlMs(options);
    this.toolsPageSize = Math.max(1, Math.floor(options.toolsPageSize ?? DEFAULT_TOOLS_PAGE_SIZE));
    const u = options.upstream ?? {};
    this.upstreamOptions = { ...defaultUpstreamOptions, ...u, breaker: { ...defaultUpstreamOptions.breaker, ...(u.breaker ?? {}) } };
    this.logLimits = { ...defaultLogRelayLimits, ...(options.logRelay ?? {}) };
    const registry = options.registry ?? new Registry();
    this.logsDropped = logDropCounter(registry);
    this.callErrors = createMetrics({ registry }).errors;
    trackTenantCircuits(registry, () =>
      [...this.upstreams.values()].filter((u) => u.spec.tenant === SHARED_TENANT).map((u) => ({ server: u.spec.name, open: u.tenantCircuitsOpen })),
    );
    this.catalog.onChange((c) => this.reindex(c));
    this.healthActor = { kind: 'system', id: options.replicaId ?? replicaActorId() };
    const presenceTtlMs = options.presenceTtlMs ?? Math.max(30_000, 3 * this.upstreamOptions.healthIntervalMs);
    this.presence = new ReplicaPresence(this.cache, this.healthActor.id, presenceTtlMs, options.clock, options.logger);
  }

  /**
   * Rebuild the catalog from the log, connect to every known upstream in the background, then
   * follow the log for registry changes made elsewhere (unless `follow: false`).
   */
  async start(): Promise<void> {
    // Only the registry's streams are read, never the whole log (mostly tool calls): start-up
    // takes as long with millions of events as with none. Every event up to the head read first
    // is covered by this read, so following resumes from there, not from the last registry
    // event (which may lie far back).
    await this.presence.start();
    const head = await this.options.store.headPosition();
    let seen = -1;
    for (;;) {
      const page = await this.options.store.readAll({ after: seen, limit: 1000, streamPrefix: MCP_SERVER_STREAM_PREFIX });
      for (const e of page) if (e.stream.startsWith(MCP_SERVER_STREAM_PREFIX)) this.applyRegistryEvent(e);
      if (page.length) seen = page[page.length - 1].position;
      if (page.length < 1000) break;
    }
    // Vectors a previous run saved for tools removed since (while this process was down) go now.
    void this.search.retain(new Set([...this.indexed.values()].flat()));
    for (const s of this.catalog.allServers()) this.attachKnown(s.id);
    if (this.options.follow !== false) this.following = this.follow(Math.max(head, seen));
  }

  /**
   * Apply registry events appended after `after` by anyone, resuming from the last one seen when
   * the subscription fails (followLog). Events this process appended itself are already applied (no-op).
   */
  private follow(after: number): LogFollower {
    return followLog(this.options.store, {
      after,
      streamPrefix: MCP_SERVER_STREAM_PREFIX,
      onEvent: (e) => this.applyFromLog(e),
      onFailure: (err, at, retryInMs) =>
        this.options.logger?.warn({ err, after: at, retryInMs }, 'mcp gateway: following the log stopped; registry changes from other processes wait until it resumes'),
    });
  }

  /** Apply a registry event another process may have appended, connecting to (or from) its server here. */
  private async applyFromLog(e: RecordedEvent): Promise<void> {
    if (!this.applyRegistryEvent(e)) return;
    const id = parseStream(e.stream).id;
    if (e.type === 'McpServerRegistered') this.attachKnown(id);
    else if (e.type === 'McpServerReconfigured') this.reattachKnown(id);
    else if (e.type === 'McpServerRemoved') await this.detach(id);
  }

  /**
   * Apply a registry event read from the log. One of a newer release (a version or type this
   * release does not know: another process was upgraded first) is applied as far as this release
   * reads it, by its fields' names (a type it does not know changes nothing), never refused: the
   * catalog serves every tenant, and a removal or a health change must still apply. Warned once per
   * type and version, since only an upgrade of this process reads it whole.
   */
  private applyRegistryEvent(e: RecordedEvent): boolean {
    if (eventCatalog.isFromNewerRelease(e) && !this.newerWarned.has(`${e.type}@${e.version}`)) {
      this.newerWarned.add(`${e.type}@${e.version}`);
      const latestVersion = eventCatalog.has(e.type) ? eventCatalog.latestVersion(e.type) : undefined;
      this.options.logger?.warn(
        { eventId: e.id, stream: e.stream, type: e.type, version: e.version, latestVersion },
        'mcp gateway: the registry holds an event of a newer release; applied as far as this release reads it (upgrade this process to read it whole)',
      );
    }
    return this.catalog.apply(e);
  }

  /** Apply a server's stream now, without waiting for the follower (which then skips its events). */
  private async catchUp(id: string): Promise<void> {
    for (const e of await this.options.store.readStream(`${MCP_SERVER_STREAM_PREFIX}${id}`)) await this.applyFromLog(e);
  }

  /**
   * The id a new server of this name takes: the first generation (serverIdFor) whose stream does
   * not exist yet, every earlier one having been removed. Undefined when a live server holds the
   * name: it is in the catalog on return, though this process may not have followed it yet.
   */
  private async nextServerId(tenant: string, name: string): Promise<string | undefined> {
    const key = configuredKey(tenant, name);
    for (let n = this.generations.get(key) ?? 0; ; n++) {
      const id = serverIdFor(tenant, name, n);
      const state = await this.serverStreamState(id);
      if (state === 'none') return id;
      this.generations.set(key, n);
      if (state === 'live') {
        await this.catchUp(id);
        return undefined;
      }
    }
  }

  /**
   * Whether a server's stream does not exist, or holds a server now removed or still live. Read
   * from the end: a removal is final, yet a health change or discovery in flight may land after it.
   */
  private async serverStreamState(id: string): Promise<'none' | 'removed' | 'live'> {
    const stream = `${MCP_SERVER_STREAM_PREFIX}${id}`;
    for (let from: number | undefined; ; ) {
      const page = await this.options.store.readStream(stream, { direction: 'backwards', maxCount: 50, ...(from !== undefined ? { fromRevision: from } : {}) });
      if (from === undefined && page.length === 0) return 'none';
      for (const e of page) {
        if (e.type === 'McpServerRemoved') return 'removed';
        if (e.type === 'McpServerRegistered') return 'live';
      }
      const oldest = page[page.length - 1]?.revision ?? 0;
      if (page.length < 50 || oldest === 0) return 'live';
      from = oldest - 1;
    }
  }

  /**
   * Run registrations of one name in this process one after the other: the store keeps two
   * processes from both registering it, and this keeps one process from attaching two upstreams
   * for it (the loser of a race reuses the winner's server).
   */
  private oneAtATime<T>(tenant: string, name: string, fn: () => Promise<T>): Promise<T> {
    const key = configuredKey(tenant, name);
    const run = (this.naming.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => {});
    this.naming.set(key, tail);
    void tail.then(() => {
      if (this.naming.get(key) === tail) this.naming.delete(key);
    });
    return run;
  }

  /** Connect (in the background) to a server known from the log, unless this process already has or is making its upstream. */
  private attachKnown(id: string): void {
    const s = this.catalog.server(id);
    if (!s || this.closed || this.upstreams.has(id) || this.registering.has(id)) return;
    void this.attach(this.knownSpec(id)!).connect().catch(() => {});
  }

  /**
   * Reconnect (in the background) to a server another process reconfigured, with its settings from
   * the log; the connection this process had ends once its calls have (replaceUpstream).
   */
  private reattachKnown(id: string): void {
    const spec = this.knownSpec(id);
    if (!spec || this.closed || this.registering.has(id)) return;
    void this.replaceUpstream(spec).connect().catch(() => {});
  }

  /** What the log says of how to reach a server: the env templates (resolved at connect from this process's environment), never literal values. */
  private knownSpec(id: string): UpstreamSpec | undefined {
    const s = this.catalog.server(id);
    return s && { id: s.id, tenant: s.tenant, name: s.name, transport: s.transport, command: s.command, args: s.args, env: s.env, url: s.url, limits: s.limits, headers: s.headers, ...(s.egress ? { egress: s.egress } : {}) };
  }

  /**
   * Make `spec` the server's upstream for every call from now on, and retire the one it had: the
   * calls that one took end there (in flight, or queued for its concurrency), then it closes. New
   * calls wait for the new connection (at most the connect timeout), as any call to an upstream
   * not connected yet does: none fails for want of a connection in between.
   */
  private replaceUpstream(spec: UpstreamSpec): Upstream {
    const old = this.upstreams.get(spec.id);
    const u = this.attach(spec);
    if (old) {
      this.retiring.add(old);
      void old.retire().finally(() => this.retiring.delete(old));
    }
    return u;
  }

  private async detach(id: string): Promise<void> {
    const u = this.upstreams.get(id);
    this.upstreams.delete(id);
    this.logRates.delete(id);
    this.ownFailures.delete(id);
    for (const key of this.warnedVariables) if (key.startsWith(`${id} `)) this.warnedVariables.delete(key);
    await u?.close();
  }

  /**
   * Register an upstream and wait (up to the connect timeout) for its first tool discovery.
   * It stays registered when that fails; its health says why. Throws MCP_SERVER_EXISTS for a taken
   * name, also when another process registers it at the same time (the event store decides which wins).
   */
  registerServer(p: RegisterServerParameters): Promise<ServerInfo> {
    const limit = this.serverLimitReached(p.tenant);
    if (limit) return Promise.reject(limit);
    return this.oneAtATime(p.tenant, p.name, () => this.register(p));
  }

  /**
   * registerServer, safe to send again (`POST /v1/mcp-servers`): when the tenant already has a
   * server of that name with the same definition (its settings as the log records them, and its
   * egress), that server, `existed: true`, with nothing recorded and its connection left as it is:
   * a client whose first answer was lost (a timeout, a drain's 503) cannot tell its own earlier
   * registration from another's otherwise. One of another definition is MCP_SERVER_EXISTS naming
   * the settings that differ (never a value). Another tenant's server, or a shared one, is never
   * the same. A URL that holds credentials (`?api_key=…`, which the log records masked) is the same
   * only where the connection this process made has that very URL (compared by digest); one that
   * refers to the environment (`?api_key=${env:NAME}`) is compared as written, on every process.
   */
  registerOrMatch(p: RegisterServerParameters): Promise<{ server: ServerInfo; existed: boolean }> {
    return this.oneAtATime(p.tenant, p.name, async () => {
      const before = this.matching(p);
      if (before) return { server: this.registeredInfo(before), existed: true };
      const limit = this.serverLimitReached(p.tenant);
      if (limit) throw limit;
      try {
        return { server: await this.register(p), existed: false };
      } catch (err) {
        if (!(err instanceof McpGatewayError && err.code === 'MCP_SERVER_EXISTS')) throw err;
        // Registered by another process meanwhile (or before this catalog had read it): the same one is the answer too.
        const after = this.matching(p);
        if (after) return { server: this.registeredInfo(after), existed: true };
        throw err;
      }
    });
  }

  /**
   * The id of the tenant's server named `p.name` when `p` defines it alike; undefined when there is
   * none; MCP_SERVER_EXISTS, naming the settings that differ, when it is defined otherwise.
   */
  private matching(p: RegisterServerParameters): string | undefined {
    const existing = this.catalog.serverByName(p.tenant, p.name);
    if (!existing) return undefined;
    const same = sameSettings(existing, p);
    const differs: string[] = MCP_SERVER_SETTINGS.filter((k) => !same[k]);
    if ((existing.egress ?? undefined) !== (p.egress ?? undefined)) differs.push('egress');
    let masked = false;
    // A URL written as the log masks it (`?api_key=***`) is no match for one registered with real credentials.
    // A template holds no credential: the log has it whole, and every process compares it as written.
    if (same.url && p.url && !isUrlTemplate(p.url) && (urlHoldsCredentials(p.url) || existing.url?.includes('***'))) {
      // The log holds the URL masked: only the connection made with it knows the credentials.
      const held = this.upstreams.get(existing.id)?.spec.url;
      masked = !held || !timingSafeEqual(digestOf(held), digestOf(p.url));
      if (masked) differs.push('url');
    }
    if (!differs.length) return existing.id;
    // Masked: only the replica that registered it could tell, so a retry of one's own registration lands here too.
    const why = masked
      ? `its URL holds credentials, which the log keeps masked, so this gateway cannot tell that they are the same (only the replica that registered it can): if this is your own registration sent again (its first answer lost), it is server ${existing.id} (GET /v1/mcp-servers/${existing.id}); give the credentials by reference to the gateway's environment instead (\`?api_key=\${env:NAME}\`, recorded as written, so every replica connects and compares it)`
      : `their definitions differ (${differs.join(', ')})`;
    const resend = masked ? '' : '; sending the same definition again answers with the registered server';
    throw new McpGatewayError(
      'MCP_SERVER_EXISTS',
      `an MCP server named ${p.name} is already registered (id ${existing.id}), and ${why}; to change it, remove it (DELETE /v1/mcp-servers/${existing.id}) and register it again, or, for a server of MCP_SERVERS_FILE, change its entry there and restart${resend}`,
      { details: { name: p.name, serverId: existing.id, differs } },
    );
  }

  /**
   * MCP_SERVER_LIMIT when the tenant has as many servers as MCP_MAX_SERVERS_PER_TENANT allows.
   * Each server is a connection (a process, for stdio) and a health check for every replica: a
   * tenant's admin could otherwise register them without end. Counted from the catalog, so two
   * registrations at once may pass it by one.
   */
  private serverLimitReached(tenant: string): McpGatewayError | undefined {
    const max = this.options.maxServersPerTenant;
    const held = max === undefined ? 0 : this.catalog.allServers().filter((s) => s.tenant === tenant).length;
    if (max === undefined || held < max) return undefined;
    return new McpGatewayError('MCP_SERVER_LIMIT', `tenant ${tenant} has ${held} MCP servers, as many as MCP_MAX_SERVERS_PER_TENANT allows (${max}): remove one first`, {
      details: { limit: max },
    });
  }

  private async register(p: RegisterServerParameters): Promise<ServerInfo> {
    const { data, version, limits } = this.settingsRecord(p);
    // Queued behind another registration of the name (oneAtATime) past the drain's cut-off: nothing recorded.
    if (this.shutdown.signal.aborted) throw shuttingDownError();
    let claimed: { id: string; u: Upstream } | undefined;
    for (let attempt = 1; !claimed; attempt++) {
      // The catalog first: it knows servers registered before names were claimed by their ids.
      const id = this.catalog.serverByName(p.tenant, p.name) ? undefined : await this.nextServerId(p.tenant, p.name);
      if (!id) throw new McpGatewayError('MCP_SERVER_EXISTS', `an MCP server named ${p.name} is already registered`, { details: { name: p.name } });
      this.registering.add(id);
      try {
        await this.record(id, p.tenant, 'McpServerRegistered', data, p.actor, p.correlationId, 'no_stream', version);
        const u = this.attach({ id, tenant: p.tenant, name: p.name, transport: p.transport, command: p.command, args: p.args, env: p.env, cwd: p.cwd, url: p.url, limits, headers: p.headers, ...(p.egress ? { egress: p.egress } : {}) });
        claimed = { id, u };
      } catch (err) {
        // Another process registered this name with this id just now: it is in the catalog after this.
        if (!(err instanceof WrongExpectedRevisionError) || attempt >= REGISTER_ATTEMPTS) throw err;
        await this.catchUp(id);
      } finally {
        this.registering.delete(id);
      }
    }
    const { id, u } = claimed;
    // Its connection is waited for until the drain's cut-off at most (endInFlight): the server is
    // registered, so the answer says so; another replica (or the next start) connects to it.
    // (A failed connect is no failure of the registration: the server's health says why.)
    await unlessAborted(u.connect().catch(() => undefined), this.shutdown.signal).catch(() => {
      // Its URL's credentials, masked in the log, only this process could compare (registerOrMatch).
      const resend =
        p.url && !isUrlTemplate(p.url) && urlHoldsCredentials(p.url)
          ? `sending the same registration again is safe, but another process answers it 409 MCP_SERVER_EXISTS naming this server (id ${id}), as only this one could compare the credentials of its URL: this server is yours (given as \`?api_key=\${env:NAME}\`, any replica compares them)`
          : 'sending the same registration again is safe (it answers 200 with this server), another definition is MCP_SERVER_EXISTS';
      throw shuttingDownError({
        what: `MCP server ${p.name} is registered (id ${id}), but its connection and tool discovery did not end before it stopped; another replica connects to it (GET /v1/mcp-servers/${id}); ${resend}`,
        details: { serverId: id },
      });
    });
    await this.chains.get(id);
    return this.registeredInfo(id);
  }

  /**
   * serverInfo as the one registering it needs to know it: down, and why, where this replica cannot
   * reach it only for a variable its own environment lacks (ownVariableMissing: not recorded).
   */
  private registeredInfo(id: string): ServerInfo {
    const info = this.serverInfo(id);
    const own = this.ownFailures.get(id);
    return own && info.health !== 'down' ? { ...info, health: 'down', healthReason: own.reason } : info;
  }

  /**
   * What the log records of a registration's settings (McpServerRegistered, McpServerReconfigured):
   * env names and templates, never a literal value; the URL's credentials redacted. Throws, with
   * nothing recorded, for settings the gateway refuses or could not authenticate with (a variable
   * a template names that is not set here). `version`: McpServerRegistered's, the first that holds them.
   */
  private settingsRecord(p: RegisterServerParameters): { data: Record<string, unknown>; version: number; limits?: McpServerLimits } {
    const issue = registrationProblem(p);
    if (issue) {
      const field = issue.path.join('.') || 'body';
      throw new ValidationError(`${field}: ${issue.message}`, { field });
    }
    // Refused before anything is recorded: a server this gateway could not authenticate to.
    const missing = p.headers ? missingVariables(p.headers)[0] : undefined;
    if (missing) {
      throw new McpGatewayError('MCP_SECRET_MISSING', `headers.${missing.header}: environment variable ${missing.variable} is not set on this gateway${SET_IT_THERE}`, {
        details: { field: `headers.${missing.header}`, variable: missing.variable },
      });
    }
    const missingInUrl = p.url ? missingUrlVariables(p.url)[0] : undefined;
    if (missingInUrl) {
      throw new McpGatewayError('MCP_SECRET_MISSING', `url: environment variable ${missingInUrl} is not set on this gateway${SET_IT_THERE}`, {
        details: { field: 'url', variable: missingInUrl },
      });
    }
    const missingEnv = p.env ? missingEnvVariables(p.env)[0] : undefined;
    if (missingEnv) {
      throw new McpGatewayError('MCP_SECRET_MISSING', `env.${missingEnv.name}: environment variable ${missingEnv.variable} is not set on this gateway${SET_IT_THERE}`, {
        details: { field: `env.${missingEnv.name}`, variable: missingEnv.variable },
      });
    }
    const data: Record<string, unknown> = { name: p.name, transport: p.transport };
    if (p.command) data.command = p.command;
    if (p.args) data.args = p.args;
    // Every name, as before; the templates too (v3), never a literal value.
    const env = p.env && envRecord(p.env);
    if (env) data.envKeys = env.envKeys;
    // Any URL with its credentials masked; a template as written too (v6: names, never values), in a field of its own.
    if (p.url) data.url = isUrlTemplate(p.url) ? maskedTemplate(p.url) : shownUrl(p.url);
    const limits = p.limits && limitsOf(p.limits);
    // Each version only when its field is used: a registration without them stays as it was (v1).
    if (limits) data.limits = limits;
    if (p.headers) data.headers = p.headers;
    if (env?.templates) data.env = env.templates;
    if (p.egress) data.egress = p.egress;
    if (p.url && isUrlTemplate(p.url)) data.urlTemplate = p.url;
    const version = p.url && isUrlTemplate(p.url) ? 6 : limits?.connectTimeoutMs !== undefined ? 5 : p.egress ? 4 : p.headers || env?.templates ? 3 : limits ? 2 : 1;
    return { data, version, ...(limits ? { limits } : {}) };
  }

  /**
   * Register unless a server of that name exists. One with the same settings is reused (connected
   * again with this process's env values and cwd, which the log does not hold); one with other
   * settings is reconfigured in place (McpServerReconfigured: same id, its tools served meanwhile,
   * calls from then on going to the new connection; replaceUpstream). Either way this waits for
   * the connection's first tool discovery. For servers from config at start-up: idempotent across restarts.
   * `source`: the setting of this process's configuration that registers it at every start; while
   * this process runs, removeServer refuses it naming that setting (it would come back at the next
   * start). Another process's settings do not count: each process knows only its own.
   */
  async ensureServer(p: RegisterServerParameters, source?: ConfigSource): Promise<ServerInfo> {
    if (source) this.configured.set(configuredKey(p.tenant, p.name), source);
    return this.held(p, this.oneAtATime(p.tenant, p.name, () => this.ensureRetrying(p)));
  }

  /**
   * Hold listings (listingHeld) and calls of tools not in the catalog (newcomersRegistering) back
   * for `registration`: a start-up registration (registerAtStart) of a server the catalog does not
   * know yet, whose tools come with its first discovery. Listings wait until it settles or
   * LISTING_HOLD_MS (`listingHoldMs`) has passed since this call, whichever comes first, once: a
   * request after that never waits for it, and its tools come with notifications/tools/list_changed
   * when it discovers them. Calls wait until it settles (up to the connect timeout): they need its
   * tool to exist. A server the catalog knows needs none: its tools are listed as last discovered,
   * and a call to it waits for its registration (ensureServer).
   * @example gateway.holdListing(gateway.ensureServer(p, source));
   */
  holdListing(registration: Promise<unknown>): void {
    const settled: Promise<void> = registration.then(
      () => void this.newcomers.delete(settled),
      () => void this.newcomers.delete(settled),
    );
    this.newcomers.add(settled);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, this.options.listingHoldMs ?? LISTING_HOLD_MS));
      // A hold alone keeps no process alive (`openmcp mcp stdio` whose host went away).
      timer.unref();
    });
    const listing: Promise<void> = Promise.race([settled, bound]).then(() => {
      clearTimeout(timer);
      this.listingHolds.delete(listing);
    });
    this.listingHolds.add(listing);
  }

  /**
   * For listings (tools/list, tool search): resolves once the holds of holdListing have ended (each
   * registration settled or past its bound, LISTING_HOLD_MS) or releaseListing; undefined when none
   * holds (no await on the hot path, and never again once the bound has passed).
   */
  listingHeld(): Promise<void> | undefined {
    return this.listingHolds.size ? Promise.race([Promise.all(this.listingHolds), this.holdsReleased]).then(() => undefined) : undefined;
  }

  /**
   * For a call of a tool not in the catalog: resolves once the registrations held by holdListing
   * have settled (or releaseListing), when their tools are in the catalog; undefined when none is in flight.
   */
  newcomersRegistering(): Promise<void> | undefined {
    return this.newcomers.size ? Promise.race([Promise.all(this.newcomers), this.holdsReleased]).then(() => undefined) : undefined;
  }

  /**
   * A shutdown begins: what holdListing holds answers now, from the catalog as it is. HTTP closes
   * before the gateway does (close() ends the registrations), and waits for its requests: one held
   * for a registration would keep it open until that connect ended on its own (the connect timeout).
   */
  releaseListing(): void {
    this.newcomers.clear();
    this.listingHolds.clear();
    this.releaseHolds();
  }

  /** `ensuring` the server registered under p's name (if any) until `run` settles; returns `run`. */
  private held<T>(p: RegisterServerParameters, run: Promise<T>): Promise<T> {
    const id = this.catalog.serverByName(p.tenant, p.name)?.id;
    if (!id) return run;
    const tail = run.catch(() => {});
    this.ensuring.set(id, tail);
    void tail.then(() => {
      if (this.ensuring.get(id) === tail) this.ensuring.delete(id);
    });
    return run;
  }

  /**
   * For a server the defaults register (`examples` while OPENMCP_EXAMPLES is unset): as
   * ensureServer, unless an admin removed the last server of that name and none was registered
   * since; then undefined. Every process shares the defaults, so an admin's removal must stick for
   * all of them (an MCP host starting `openmcp mcp stdio` sets none of the server's settings).
   * Not a configuration `source`: removeServer allows it.
   * Requires start() first (the catalog has read the registry).
   */
  async ensureDefaultServer(p: RegisterServerParameters): Promise<ServerInfo | undefined> {
    return this.held(
      p,
      this.oneAtATime(p.tenant, p.name, async () => {
        if (!this.catalog.serverByName(p.tenant, p.name) && this.catalog.wasRemoved(p.tenant, p.name)) return undefined;
        return this.ensureRetrying(p);
      }),
    );
  }

  private async ensureRetrying(p: RegisterServerParameters): Promise<ServerInfo> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ensure(p);
      } catch (err) {
        // Another process registered it at the same time (processes starting together): the
        // catalog has its server now, reused when it is the same.
        if (!(err instanceof McpGatewayError && err.code === 'MCP_SERVER_EXISTS') || attempt >= REGISTER_ATTEMPTS) throw err;
      }
    }
  }

  private async ensure(p: RegisterServerParameters): Promise<ServerInfo> {
    const existing = this.catalog.serverByName(p.tenant, p.name);
    if (!existing) return this.register(p);
    const same = sameSettings(existing, p);
    const changed = MCP_SERVER_SETTINGS.filter((k) => !same[k]);
    if (changed.length) {
      const { data, limits } = this.settingsRecord(p);
      // Said, as the operator may not have asked for it as such: a release installed at another
      // path changes the bundled examples' command, and processes installed at two paths would
      // reconfigure it at each of their starts.
      this.options.logger?.warn(
        { tenant: p.tenant, server: p.name, serverId: existing.id, changed },
        `mcp gateway: ${p.name} is configured otherwise than registered (${changed.join(', ')}): reconfigured in place (same id, its tools served meanwhile), connecting with the new settings`,
      );
      // Kept from reconnecting with the log's settings alone when the follower applies it first (reattachKnown): this process has the literal env values.
      this.registering.add(existing.id);
      try {
        // v3 only for a URL template, v2 for settings with a connect timeout of their own: any other stays v1, as consumers were promised.
        const version = p.url && isUrlTemplate(p.url) ? 3 : limits?.connectTimeoutMs !== undefined ? 2 : 1;
        await this.record(existing.id, existing.tenant, 'McpServerReconfigured', { ...data, changed }, p.actor, p.correlationId, 'any', version);
      } finally {
        this.registering.delete(existing.id);
      }
    }
    // The same settings get this process's env values (and cwd) too, which the log does not hold;
    // and the egress the log records (a tenant registered it: public addresses only), as every
    // other process connects with it. McpServerReconfigured records none: the entry's settings whole.
    const egress = changed.length ? undefined : existing.egress;
    const spec: UpstreamSpec = { id: existing.id, tenant: existing.tenant, name: p.name, transport: p.transport, command: p.command, args: p.args, env: p.env, cwd: p.cwd, url: p.url, limits: p.limits && limitsOf(p.limits), headers: p.headers, ...(egress ? { egress } : {}) };
    // The connection start() made from the log is kept when it has these very settings (no env
    // value or cwd the log lacks): replaced, each start began the server twice (two processes).
    const current = this.upstreams.get(existing.id);
    const u = current && !changed.length && sameSpec(current.spec, spec) ? current : this.replaceUpstream(spec);
    await u.connect().catch(() => {});
    await this.chains.get(existing.id);
    return this.registeredInfo(existing.id);
  }

  /**
   * The servers the tenant reaches: its own and the shared ones (tenant `*`). A shared server's
   * configuration (command, args, env, url, headers) is the operator's: it may name host paths or
   * internal addresses, and its events are not in any tenant's log, so it is shown only when
   * `options.sharedDetails` (the caller acts for every tenant: a cross-tenant principal).
   */
  listServers(tenant: string, options: { sharedDetails?: boolean } = {}): ServerInfo[] {
    const servers = this.catalog.listServers(tenant);
    if (options.sharedDetails || tenant === SHARED_TENANT) return servers;
    return servers.map((s) => (s.tenant === SHARED_TENANT ? withoutConfiguration(s) : s));
  }

  /**
   * Remove a server the tenant owns, or a shared one (tenant `*`, which every tenant lists) when
   * `options.crossTenant` (the caller acts for every tenant: a cross-tenant admin). NotFoundError
   * when the tenant does not own one with that id; FORBIDDEN for a shared one without
   * `crossTenant`, and for one this process's configuration registers at every start (ensureServer's
   * `source`: it would come back), naming the setting to change first.
   * `correlationId`: the request's id, as for registerServer.
   */
  async removeServer(tenant: string, id: string, actor: Actor, correlationId?: string, options: RemoveServerOptions = {}): Promise<void> {
    const s = this.catalog.server(id);
    if (!s) throw this.removedAlready(tenant, id) ?? new NotFoundError('MCP server', id);
    const shared = s.tenant === SHARED_TENANT && tenant !== SHARED_TENANT;
    if (s.tenant !== tenant && !shared) throw new NotFoundError('MCP server', id);
    // First: a tenant's admin told to change the configuration could not remove it even then.
    // Not a 404: the caller sees it in its list, and "not found" left it wondering why.
    if (shared && !options.crossTenant) {
      throw new OpenMcpError('FORBIDDEN', `MCP server ${s.name} is shared by every tenant: only a cross-tenant admin (such as the bootstrap admin key) removes it`, {
        status: 403,
        details: { field: 'id' },
      });
    }
    const source = this.configured.get(configuredKey(s.tenant, s.name));
    if (source) {
      throw new OpenMcpError(
        'FORBIDDEN',
        `MCP server ${s.name} is registered at every start by this gateway's configuration (${source.setting}): ${source.undo}, restart, then remove it`,
        { status: 403, details: { field: 'id' } },
      );
    }
    await this.remove(id, actor, correlationId);
  }

  /**
   * For a server the tenant had (its own, or a shared one, which every tenant lists) and that is
   * removed: INVALID_TRANSITION (409), so a retried DELETE whose first answer was lost is told
   * apart from an id that never existed; undefined otherwise (NOT_FOUND: another tenant's server,
   * removed or not, must not be told from one that never existed). Names the server that holds
   * the name now, if one does: an id is never reused, a name registered again gets a new one.
   */
  private removedAlready(tenant: string, id: string): InvalidTransitionError | undefined {
    const gone = this.catalog.removedServer(id);
    if (!gone || (gone.tenant !== tenant && gone.tenant !== SHARED_TENANT)) return undefined;
    const now = this.catalog.serverByName(gone.tenant, gone.name);
    const successor = now ? `; a server of that name is registered now as ${now.id}` : '';
    return new InvalidTransitionError('mcpserver', 'removed', 'RemoveMcpServer', `MCP server ${gone.name} (${id}) is removed already${successor}`);
  }

  /** Record the removal (in the server's own tenant) and close its upstream here; other processes follow the log. */
  private async remove(id: string, actor: Actor, correlationId?: string): Promise<void> {
    const s = this.catalog.server(id);
    if (!s) throw new NotFoundError('MCP server', id);
    // Removed by another process (or request) that this catalog has not followed yet: said so, as
    // once followed, rather than a second McpServerRemoved and a 204. (Two removals in the same
    // instant can still both append; the second then changes nothing.)
    if ((await this.serverStreamState(id)) === 'removed') {
      await this.catchUp(id);
      throw this.removedAlready(s.tenant, id) ?? new NotFoundError('MCP server', id);
    }
    await this.record(id, s.tenant, 'McpServerRemoved', { name: s.name }, actor, correlationId);
    await this.detach(id);
  }

  /** The tenant's aggregated tools, from the catalog only (never waits on an upstream). */
  listTools(tenant: string): CatalogTool[] {
    return this.catalog.listTools(tenant);
  }

  /** Best `k` tools for a need described in words, among those the tenant sees (a first start's new servers first, for at most LISTING_HOLD_MS: holdListing). */
  async searchTools(tenant: string, q: string, k = 5): Promise<ToolMatch[]> {
    const held = this.listingHeld();
    if (held) await held;
    const visible = new Map(this.catalog.listTools(tenant).map((t) => [`${t.serverId}/${t.upstreamName}`, t]));
    // The tenant's corpus and the shared one: no other tenant's tools weigh on the scores.
    const hits = await this.search.search(q, k, (id) => visible.has(id), undefined, [tenant, SHARED_TENANT]);
    return hits.map((h) => ({ tool: visible.get(h.id)!, score: h.score }));
  }

  /**
   * Called on every change of the tools of a tenant's visible servers (for notifications/tools/list_changed).
   * Not on a registration: a server is registered with no tools, listed once they are discovered
   * (a notification then had clients list again for nothing, without the new tools).
   */
  onToolsChanged(listener: (tenant: string) => void): () => void {
    return this.catalog.onChange((c) => {
      if (c.kind === 'tools' || c.kind === 'removed') listener(c.tenant);
    });
  }

  /**
   * Called with each log message (notifications/message) of an upstream this process is connected
   * to, and the one tenant whose clients may see it: the server's own. A shared server's messages
   * reach no tenant (they may tell of another tenant's call, and MCP ties a log message to no
   * request); they go to this process's log at debug level. An upstream's messages beyond the
   * relay rate are dropped (`logRelay`), and data over `logRelay.maxDataBytes` is cut.
   */
  onUpstreamLog(listener: (tenant: string, log: UpstreamLog) => void): () => void {
    this.logListeners.add(listener);
    return () => this.logListeners.delete(listener);
  }

  /** Count a log message not sent to a client (openmcp_mcp_log_messages_dropped_total). */
  countDroppedLog(reason: LogDropReason): void {
    this.logsDropped.inc({ reason });
  }

  private relayLog(spec: UpstreamSpec, params: LoggingMessageNotification['params']): void {
    const s = this.catalog.server(spec.id);
    if (!s || this.upstreams.get(spec.id)?.spec !== spec) return;
    if (s.tenant === SHARED_TENANT) {
      this.options.logger?.debug?.({ server: s.name, level: params.level }, 'mcp gateway: log message of a shared upstream (not relayed to clients)');
      return;
    }
    // An upstream that logs in a loop must not cost every client of the tenant (and this process) a copy of each message.
    const now = performance.now();
    let limit = this.logRates.get(spec.id);
    if (!limit) this.logRates.set(spec.id, (limit = { rate: new LogRate(this.logLimits.perSecond, this.logLimits.burst, now), warnedAt: -Infinity }));
    if (!limit.rate.take(now)) {
      this.countDroppedLog('rate');
      if (now - limit.warnedAt >= 60_000) {
        limit.warnedAt = now;
        this.options.logger?.warn({ serverId: spec.id, server: s.name, perSecond: this.logLimits.perSecond }, 'mcp gateway: upstream logs faster than relayed; its excess log messages are dropped (at most one warning a minute)');
      }
      return;
    }
    const { level, logger } = params;
    const data = cutLogData(params.data, this.logLimits.maxDataBytes);
    const log: UpstreamLog = { level, logger: logger ? `${s.name}/${cutLoggerName(logger)}` : s.name, data };
    for (const l of this.logListeners) l(s.tenant, log);
  }

  /**
   * Forward a tools/call to its upstream, audited: ToolCallRequested is appended first (if that
   * fails the call is not made: AUDIT_UNAVAILABLE), then ToolCallCompleted or ToolCallFailed.
   * Tool-level errors (`isError: true`) come back as results; everything else throws a McpGatewayError
   * (UpstreamProtocolError carries the upstream's JSON-RPC code and message).
   * Aborting `options.signal` cancels the call upstream and records it failed (MCP_CALL_CANCELLED);
   * `options.onProgress` receives the upstream's progress notifications.
   */
  callTool(ctx: CallContext, name: string, args: Record<string, unknown> = {}, options: GatewayCallOptions = {}): Promise<CallToolResult> {
    // The caller's cancellation, or the gateway's own at a drain's cut-off (endInFlight).
    const linked = eitherSignal(options.signal, this.shutdown.signal);
    const call = this.audited(ctx, name, args, { ...options, signal: linked.signal }).finally(linked.dispose).catch((err: unknown) => {
      // Ours are told to the caller as they are; anything else is a bug the caller sees only as
      // "internal error": the operator's log has it.
      if (!(err instanceof OpenMcpError)) this.options.logger?.warn({ err, tenant: ctx.tenant, tool: name }, 'mcp gateway: tools/call failed on an unexpected error');
      throw err;
    });
    const settled: Promise<void> = call.then(
      () => void this.calls.delete(settled),
      () => void this.calls.delete(settled),
    );
    this.calls.add(settled);
    return call;
  }

  /**
   * What to call instead of a name no tool has: the tool it misspells by its separator or case
   * (`examples_echo`, `Examples__Echo`), the tools of that upstream name (a model that dropped
   * `<server>__`), else where to look.
   */
  private toolNameHint(tenant: string, name: string): string {
    const tools = this.catalog.listTools(tenant);
    const meant = didYouMean(tools.map((t) => t.name), name);
    if (meant) return meant;
    const named = tools.filter((t) => t.upstreamName === name).map((t) => t.name).sort();
    if (!named.length) return this.serverHint(tenant, name, tools) ?? 'tools/list and search_tools name the tools this key can call';
    return `tools are named <server>__<tool>, as ${named.slice(0, 5).join(', ')}${named.length > 5 ? `, … (${named.length})` : ''}`;
  }

  /**
   * For `<server>__<tool>` of a server the tenant sees: that it is down with none of its tools
   * known yet (registered while it could not be reached: its reason, as GET /v1/mcp-servers gives
   * it to the tenant), or which tools it has. Undefined for a name of no such server (another
   * tenant's included: naming it would tell that it exists).
   */
  private serverHint(tenant: string, name: string, tools: CatalogTool[]): string | undefined {
    const at = name.indexOf('__');
    if (at <= 0) return undefined;
    const server = this.listServers(tenant).find((s) => s.name === name.slice(0, at));
    if (!server) return undefined;
    const its = tools.filter((t) => t.serverId === server.id).map((t) => t.name).sort();
    if (its.length) return `server ${server.name} has no such tool; its tools: ${its.slice(0, 5).join(', ')}${its.length > 5 ? `, … (${its.length})` : ''}`;
    if (server.health === 'down') {
      return `server ${server.name} is down${server.healthReason ? ` (${server.healthReason})` : ''} and none of its tools is known yet: they are listed (notifications/tools/list_changed) once it connects`;
    }
    return `server ${server.name} lists no tools${server.health === 'up' ? '' : ' yet'}`;
  }

  private async audited(ctx: CallContext, name: string, args: Record<string, unknown>, { decidedAs, ...options }: GatewayCallOptions): Promise<CallToolResult> {
    // Cancelled before anything happened: nothing to record.
    if (options.signal?.aborted) throw cancelledError(options.signal);
    let tool = this.catalog.findTool(ctx.tenant, name);
    // A server new to the catalog registering at start (holdListing): its tools come with its first discovery.
    const held = tool ? undefined : this.newcomersRegistering();
    if (held) {
      await unlessAborted(held, options.signal);
      if (options.signal?.aborted) throw cancelledError(options.signal);
      tool = this.catalog.findTool(ctx.tenant, name);
    }
    if (!tool) throw new McpGatewayError('MCP_TOOL_NOT_FOUND', `no tool named ${name}: ${this.toolNameHint(ctx.tenant, name)}`, { details: { tool: name } });
    if (decidedAs !== undefined && tool.namespacedName !== decidedAs) {
      throw new McpGatewayError('MCP_TOOL_NOT_FOUND', `no tool named ${decidedAs}: ${name} names ${tool.namespacedName} now, which was not the tool decided on; not called`, { details: { tool: decidedAs } });
    }
    const upstream = this.upstreams.get(tool.serverId);
    if (!upstream) throw new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `server ${tool.server} is not connected`);

    // As REST bodies (docs/errors.md): deeper arguments would exhaust the stack while being hashed.
    if (bodyDepth(args, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
      throw new ValidationError(`arguments nest deeper than ${MAX_BODY_DEPTH} levels`, { field: 'arguments' });
    }
    // As REST bodies: the caller's own input, hashed into ToolCallRequested, refused rather than changed.
    const lone = loneSurrogateIn(args, ['arguments']);
    if (lone) {
      const { field } = lone;
      throw new ValidationError(`${field}: a lone UTF-16 surrogate (\\${lone.unit}) is not Unicode text, which event hashes need (RFC 8785)`, { field });
    }
    const argsDigest = payloadDigest(args);
    const argumentsJson = keptPayload(argsDigest.json, ctx.argumentsPolicy === 'hash-only' ? 'hash-only' : this.payloadPolicy);
    const audit = new ToolCallAudit(this.options.store, ctx, tool, this.options.clock, this.options.logger);
    // A model's arguments under LLM_REDACTION=hash-only are kept out of the log, sealed or not: their salt alone is sealed.
    const argumentsSealed = await this.sealed(ctx, argsDigest.json, audit.callId, 'arguments', ctx.argumentsPolicy !== 'hash-only');
    await audit.requested({
      // Under `encrypted`: the salted hash, whose salt goes with the key (a plain SHA-256 would confirm a guess after erasure).
      argumentsHash: argumentsSealed?.hash ?? argsDigest.hash,
      ...(argumentsJson !== undefined ? { argumentsJson } : {}),
      ...sealFields('arguments', argumentsSealed),
      payloadPolicy: this.payloadPolicy,
      ...(ctx.taskId && ctx.stepId ? { stepId: ctx.stepId } : {}),
    });

    const t0 = process.hrtime.bigint();
    const safe = tool.annotations.readOnlyHint === true && tool.annotations.idempotentHint === true;
    const cacheKey = safe && this.cacheTtlMs > 0 ? resultCacheKey(ctx.tenant, tool.serverId, tool.upstreamName, argsDigest.hash) : undefined;
    let result: CallToolResult | undefined;
    let cached = false;
    try {
      if (cacheKey) {
        const hit = await this.cache.get(cacheKey).catch(() => undefined);
        const entry = hit === undefined ? undefined : (JSON.parse(hit) as CallToolResult);
        // An entry nested deeper than a result may be (an earlier release did not measure them) would
        // exhaust the stack below, once the call is recorded requested: not used, the upstream asked.
        if (entry !== undefined && bodyDepth(entry, MAX_RESULT_DEPTH) <= MAX_RESULT_DEPTH) {
          // An entry of an earlier release may hold a lone surrogate (JSON.parse makes one of the escape \\ud800).
          result = wellFormed(entry);
          cached = true;
        }
      }
      // A start-up registration of this server in flight decides its connection first (ensuring):
      // only at start, a map lookup otherwise.
      const ensuring = result ? undefined : this.ensuring.get(tool.serverId);
      // Given up on at once when the call is (cancelled, or the gateway shutting down): recorded failed below.
      if (ensuring) await unlessAborted(ensuring, options.signal);
      // The upstream as it is now, after the audit's append: a reconfiguration meanwhile replaced it (replaceUpstream).
      // On a shared server the call takes its tenant's share of the slots and queue (ConcurrencyLimiter).
      result ??= await (this.upstreams.get(tool.serverId) ?? upstream).call(tool.upstreamName, args, safe, { ...options, owner: ctx.tenant });
    } catch (err) {
      const e = err instanceof McpGatewayError ? err : new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', wellFormed(String((err as Error)?.message ?? err)), { cause: err });
      this.callErrors.inc({ code: e.code });
      // Under `encrypted` the withheld message's digest is salted, its salt sealed alone under the subject's key.
      const errorSeal = await this.errorSeal(ctx, e, audit.callId);
      // Before the append: the operator has the error even when the audit log fails to take the outcome.
      if (this.payloadPolicy !== 'store') {
        const digest = withheldDigest(e, this.payloadPolicy, errorSeal?.salt);
        audit.withheld(failureOf(e, 'store'), digest && { ...digest, ...(errorSeal ? { salt: `0x${errorSeal.salt.toString('hex')}` } : {}) }, this.payloadPolicy);
      }
      await audit.failed({ error: failureOf(e, this.payloadPolicy, errorSeal?.salt), ...(errorSeal ? { errorSaltSealed: errorSeal.saltSealed } : {}), latencyUs: sinceUs(t0) });
      // Recorded: the salt is sealed in the log now (errorDigestSealed), not before (a refused append holds none).
      if (errorSeal) this.sealedErrorSalts.add(errorSeal.salt);
      throw e;
    }
    const latencyUs = sinceUs(t0);
    const r = payloadDigest(result);
    // The upstream's results are made well-formed where they enter (Upstream): one that is not would
    // have a resultHash no RFC 8785 outside JavaScript reproduces. Never recorded so: the call ends failed.
    const illFormed = r.json.includes('\\ud') ? loneSurrogateIn(result, ['result']) : undefined;
    if (illFormed) {
      const { field } = illFormed;
      await audit.unrecordable(new ValidationError(`${field} holds a lone UTF-16 surrogate (\\${illFormed.unit}), not Unicode text, so resultHash (RFC 8785, over UTF-8) could not be reproduced outside JavaScript`, { field }), latencyUs);
    }
    const resultJson = keptPayload(r.json, this.payloadPolicy);
    // A key that cannot be read now withholds the result as a failed append would (AUDIT_UNAVAILABLE).
    const resultSealed = await this.sealed(ctx, r.json, audit.callId, 'result', true);
    await audit.completed({
      resultHash: resultSealed?.hash ?? r.hash,
      ...(resultJson !== undefined ? { resultJson } : {}),
      ...sealFields('result', resultSealed),
      isError: result.isError === true,
      cached,
      latencyUs,
    });
    if (cacheKey && !cached && result.isError !== true) void this.cache.set(cacheKey, r.json, this.cacheTtlMs).catch(() => {});
    return result;
  }

  /**
   * Under MCP_PAYLOAD_POLICY=encrypted (else undefined), `json` sealed with its salt under the data key
   * of the call's subject (tenant, and `subject` or else the actor) when `whole` and up to
   * MAX_STORED_PAYLOAD_CHARS; beyond, or not `whole` (kept by hash only), its salt alone sealed:
   * either way the hash to record is salted, erased with the key. The key is made on the subject's
   * first call. Throws AUDIT_UNAVAILABLE when the key cannot be had: nothing is then recorded or
   * returned, as when the log refuses an append.
   */
  private async sealed(ctx: CallContext, json: string, callId: string, field: 'arguments' | 'result', whole: boolean): Promise<SaltedSeal | SaltOnlySeal | undefined> {
    if (this.payloadPolicy !== 'encrypted') return undefined;
    try {
      const k = await this.subjectKey(ctx);
      const salt = ctx.payloadSalts?.[field];
      const aad = payloadAad(callId, field);
      return whole && json.length <= MAX_STORED_PAYLOAD_CHARS ? sealSaltedPayload(k.key, k.kid, json, aad, salt) : sealSaltOnly(k.key, k.kid, json, aad, salt);
    } catch (err) {
      this.options.logger?.warn({ err, tenant: ctx.tenant, callId }, `mcp gateway: the subject's data key could not be read; the call's ${field} was not recorded`);
      const what = field === 'arguments' ? 'tool call not forwarded' : 'tool call outcome could not be recorded; result withheld';
      throw new McpGatewayError('AUDIT_UNAVAILABLE', `${what}: the subject key store failed (MCP_PAYLOAD_POLICY=encrypted)`, { cause: err });
    }
  }

  /**
   * Whether `salt`, given as a call's `payloadSalts.error`, keys the withheld message's digest of that
   * call's ToolCallFailed and is sealed there (v2). False when the call failed before it was recorded
   * (no such tool, …) or the subject's key could not be read: nothing holds the salt then, so a digest
   * keyed by it could never be checked (the agent's TaskStepFailed then keeps none, as ToolCallFailed).
   */
  errorDigestSealed(salt: Buffer): boolean {
    return this.sealedErrorSalts.has(salt);
  }

  /** The data key of the call's subject (tenant, and `subject` or else the actor), made on its first call. */
  private subjectKey(ctx: CallContext): Promise<{ kid: string; key: Buffer }> {
    return this.options.subjectKeys!.keyFor(subjectOf(ctx.tenant, ctx.subject ?? ctx.actor));
  }

  /**
   * Under MCP_PAYLOAD_POLICY=encrypted, the salt of a failed call's withheld message digest
   * (withheldDigest), sealed alone under the subject's key (ToolCallFailed v2); else undefined. When
   * the key cannot be had the failure is still recorded, with no digest (never a plain SHA-256).
   */
  private async errorSeal(ctx: CallContext, e: McpGatewayError, callId: string): Promise<{ salt: Buffer; saltSealed: SealedPayload } | undefined> {
    if (this.payloadPolicy !== 'encrypted') return undefined;
    const salt = ctx.payloadSalts?.error ?? newPayloadSalt();
    try {
      const k = await this.subjectKey(ctx);
      return { salt, saltSealed: sealSaltOnly(k.key, k.kid, payloadDigest(e.message).json, payloadAad(callId, 'error'), salt).saltSealed };
    } catch (err) {
      this.options.logger?.warn({ err, tenant: ctx.tenant, callId }, "mcp gateway: the subject's data key could not be read; the failed call is recorded without its message's digest");
      return undefined;
    }
  }

  /** The upstream behind a server id (operators and tests: pid, circuit, health). */
  upstream(id: string): Upstream | undefined {
    return this.upstreams.get(id);
  }

  /** Run every upstream's health check now. */
  async checkHealth(): Promise<void> {
    await Promise.all([...this.upstreams.values()].map((u) => u.checkHealth()));
    await Promise.all([...this.chains.values()]);
  }

  /**
   * For /readyz and the dashboard's MCP page: search mode (lexical-only without a model) and each
   * upstream's state as this replica sees it. A shared server's `circuit` is the one `viewer`'s
   * tenant's calls meet (its own where open, else the server's: circuitFor), never another
   * tenant's; without a viewer (cross-tenant: the operator's view), the server's own, with
   * `tenantCircuitsOpen`, how many tenants' circuits are open (which tenants is theirs).
   */
  status(viewer?: { tenant: string }): {
    search: ToolSearchStatus;
    upstreams: { id: string; tenant: string; name: string; health: string; circuit: string; tenantCircuitsOpen?: number; inFlight: number; variableMissingHere?: string }[];
  } {
    return {
      search: this.search.status(),
      upstreams: [...this.upstreams.values()].map((u) => {
        // The variable of this replica's environment it cannot be reached without (ownVariableMissing): a name, never a value.
        const variable = ownVariableOf(this.ownFailures.get(u.spec.id));
        return {
          id: u.spec.id,
          tenant: u.spec.tenant,
          name: u.spec.name,
          health: u.health,
          circuit: viewer ? u.circuitFor(viewer.tenant) : u.circuit,
          ...(!viewer && u.spec.tenant === SHARED_TENANT ? { tenantCircuitsOpen: u.tenantCircuitsOpen } : {}),
          inFlight: u.inFlight,
          ...(variable ? { variableMissingHere: variable } : {}),
        };
      }),
    };
  }

  /**
   * How many servers this replica cannot reach only for a variable its own environment lacks or
   * cannot use (`${env:NAME}`: ownVariableMissing), as it sees them now: nothing of it is recorded.
   * For its /readyz line (ownVariablesReadiness), which is public: which servers, and the
   * variables, are in status() (variableMissingHere).
   */
  variablesMissingHere(): number {
    return this.ownFailures.size;
  }

  /**
   * Kill every stdio upstream's process now, synchronously (for `process.on('exit')`): a process
   * that exits before close() finished (the shutdown deadline passed while calls were in flight)
   * must not leave its upstreams running. Nothing is recorded; use close() when there is time.
   */
  killUpstreams(): void {
    this.closed = true;
    this.presence.stop();
    for (const u of [...this.upstreams.values(), ...this.retiring]) u.kill();
  }

  /**
   * A drain's cut-off (startOpenMcp's drain, at 3/4 of SHUTDOWN_DEADLINE_MS): every call in flight
   * ends now with shuttingDownError (DEPENDENCY_UNAVAILABLE), its ToolCallFailed recorded (close()
   * waits for it), the upstream told to cancel it; a registerServer waiting for its connection
   * answers so too (registered, not connected). Calls made after fail so at once, nothing recorded.
   */
  endInFlight(): void {
    if (!this.shutdown.signal.aborted) this.shutdown.abort(shuttingDownError());
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.following?.stop();
    await Promise.all([...this.upstreams.values(), ...this.retiring].map((u) => u.close()));
    this.upstreams.clear();
    // Registrations in flight (`openmcp mcp stdio` registers while it serves: its host may go
    // away meanwhile) end before the store closes; attach() starts no upstream for them now.
    await Promise.all([...this.naming.values()]);
    // Their upstreams are gone, so they end now: let each record its outcome before the store closes.
    await Promise.all([...this.calls]);
    await Promise.all([...this.chains.values()]);
    // Nothing more is recorded from here: the others may set right this replica's "down" at once.
    await this.presence.leave();
  }

  private attach(spec: UpstreamSpec): Upstream {
    // A registration that finished recording after close(): its upstream would run on unclosed.
    if (this.closed) throw new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `MCP server ${spec.name} not connected: the gateway is closing`);
    // The server's own limits over the gateway-wide settings (the only place the two meet).
    const { timeoutMs, connectTimeoutMs, maxConcurrent } = spec.limits ?? {};
    const own = {
      ...(timeoutMs !== undefined ? { callTimeoutMs: timeoutMs } : {}),
      // Named in a connect's timeout error, so whoever reads it knows which setting to raise.
      ...(connectTimeoutMs !== undefined ? { connectTimeoutMs, connectTimeoutSetting: "the server's own connectTimeoutMs" } : {}),
      ...(maxConcurrent !== undefined ? { maxConcurrent } : {}),
    };
    // Only the server's current upstream speaks for it: one replaced (replaceUpstream) or detached
    // says nothing of the server as it is now.
    const current = () => this.upstreams.get(spec.id) === u;
    const u: Upstream = new Upstream(spec, { ...this.upstreamOptions, ...own }, {
      onLog: (params) => this.relayLog(spec, params),
      onTools: (tools) => {
        if (current()) this.enqueue(spec.id, () => this.discovered(spec, tools));
      },
      onHealth: (status, failure) => {
        if (!current()) return;
        if (status === 'down' && ownVariableOf(failure)) return this.ownVariableMissing(spec, failure!);
        this.ownFailures.delete(spec.id);
        // A change of this replica's view, recorded when it changes what the log says: a replica
        // starting (a restart, each `openmcp mcp stdio`) and finding up a server the log says up
        // records nothing. Read when its turn comes: the log may have moved meanwhile. A "down"
        // recorded by another replica is recorded by this one too, as before (its observer).
        this.enqueue(spec.id, () =>
          status === 'up' ? this.recordUnlessLogged(spec, () => this.catalog.server(spec.id)?.health === 'up', (at) => this.healthChanged(spec, 'up', undefined, at)) : this.healthChanged(spec, status, failure),
        );
      },
      // Recorded nowhere (the server's health is not the tenant's doing): the operator's log says
      // which tenant, the gauge how many (openmcp_mcp_tenant_circuits_open).
      onTenantCircuit: (tenant, state) => {
        if (!current()) return;
        if (state === 'open') this.options.logger?.warn({ serverId: spec.id, server: spec.name, tenant }, "mcp gateway: a tenant's circuit opened on a shared server (its calls timed out); its calls are refused MCP_CIRCUIT_OPEN for a while, the other tenants' go on");
        else this.options.logger?.info?.({ serverId: spec.id, server: spec.name, tenant }, "mcp gateway: a tenant's circuit closed again on a shared server");
      },
      onChecked: (status) => {
        // Only a recorded "down" is ever set right (cheap to tell; most checks end here).
        if (current() && status === 'up' && this.catalog.server(spec.id)?.health === 'down') this.enqueue(spec.id, () => this.downFromGoneReplica(spec));
      },
    });
    this.upstreams.set(spec.id, u);
    return u;
  }

  /**
   * Record a change of an upstream's health. Under hash-only the reason is kept out of the log
   * (it may quote the upstream: healthChangeEvent), so operators find it in the gateway's own log,
   * beside the digest the event keeps.
   */
  private async healthChanged(spec: UpstreamSpec, status: 'up' | 'down', failure?: HealthFailure, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    const { version, data } = healthChangeEvent(status, failure, this.payloadPolicy);
    if (version === 2 && failure) {
      this.options.logger?.warn(
        { serverId: spec.id, server: spec.name, tenant: spec.tenant, reason: redactUrlsIn(failure.reason), reasonHash: data.reasonHash, cause: failure.cause },
        `mcp gateway: upstream down; its reason is kept out of the event log (MCP_PAYLOAD_POLICY=${this.payloadPolicy})`,
      );
    }
    // Present before it records: a replica that reads this change must find its observer alive.
    await this.presence.start();
    await this.record(spec.id, spec.tenant, 'McpServerHealthChanged', data, this.healthActor, undefined, expectedRevision, version);
  }

  /**
   * This replica cannot reach the server only for a variable its own environment lacks or cannot
   * use (`${env:NAME}` in the url, headers or env): its configuration, not the server's health, so
   * nothing is recorded (a "down" would stand for every replica, as it is alive, while replicas
   * given the variable reach the server). Its own view says so (status(), its calls' errors); its
   * log warns once per server and variable. Whatever the log says stands: neither down nor up.
   */
  private ownVariableMissing(spec: UpstreamSpec, failure: HealthFailure): void {
    this.ownFailures.set(spec.id, failure);
    const variable = ownVariableOf(failure)!;
    const key = `${spec.id} ${variable}`;
    if (this.warnedVariables.has(key)) return;
    this.warnedVariables.add(key);
    this.options.logger?.warn(
      { serverId: spec.id, server: spec.name, tenant: spec.tenant, variable, reason: redactUrlsIn(failure.reason), replica: this.healthActor.id },
      `mcp gateway: upstream unavailable on this replica: environment variable ${variable} is missing or unusable here; not recorded as down (its health is the other replicas'): give this process the variable`,
    );
  }

  /**
   * This replica's check found the server up while the log says down: record it up if the replica
   * that recorded the down is gone (its presence expired or left), or is this one (its own "up"
   * was not recorded). A down recorded by a live replica stands: two replicas that truly disagree
   * write nothing more. So a correction follows only a recorded down (one per down, however many
   * replicas set it right), never a periodic report, and only in this direction: a replica that
   * finds a server down records so when its own view changes, as ever.
   */
  private async downFromGoneReplica(spec: UpstreamSpec): Promise<void> {
    if (this.catalog.server(spec.id)?.health !== 'down' || this.upstreams.get(spec.id)?.health !== 'up') return;
    const observer = this.catalog.healthObserver(spec.id);
    if (observer !== undefined && observer !== this.healthActor.id && (await this.presence.isAlive(observer))) return;
    // At the revision read: of several replicas that set the same down right, one appends; the
    // others' appends fail, and their next check finds the server up in the log already.
    try {
      await this.healthChanged(spec, 'up', undefined, this.catalog.revisionOf(spec.id) ?? 'any');
    } catch (err) {
      if (err instanceof WrongExpectedRevisionError) return;
      throw err;
    }
    this.options.logger?.info?.(
      { serverId: spec.id, server: spec.name, tenant: spec.tenant, recordedBy: observer, replica: this.healthActor.id },
      'mcp gateway: upstream recorded down by a replica that is gone; this replica reaches it and recorded it up',
    );
  }

  private async discovered(spec: UpstreamSpec, tools: Tool[]): Promise<void> {
    const { records, skipped } = toolRecords(tools);
    if (skipped.length) this.options.logger?.warn({ serverId: spec.id, server: spec.name, skipped }, 'mcp gateway: tools of this upstream left out of the catalog');
    const toolsHash = payloadDigest(records).hash;
    // v2 only when a tool has icons or _meta: other discoveries stay v1, as they were.
    const version = records.some((r) => r.icons || r.metaJson) ? 2 : 1;
    await this.recordUnlessLogged(
      spec,
      () => this.catalog.server(spec.id)?.toolsHash === toolsHash,
      (at) => this.record(spec.id, spec.tenant, 'McpServerToolsDiscovered', { tools: records, toolsHash }, SYSTEM_ACTOR, undefined, at, version),
    );
  }

  /**
   * Record what this replica saw (`append`) unless the log already says it (`logged`). Appended at
   * the revision of the server's stream this process has read: another replica that recorded the
   * same a moment before (every replica connects to a new server at once, `openmcp mcp stdio`
   * included) makes it fail, and the stream is read again before deciding. So a registration
   * leaves one discovery and one "up" in the log, and one notifications/tools/list_changed for
   * each client, however many replicas run. Past REGISTER_ATTEMPTS conflicts (a stream written to
   * that fast), appended at any revision, as before: a discovery is never lost.
   */
  private async recordUnlessLogged(spec: UpstreamSpec, logged: () => boolean, append: (at: ExpectedRevision) => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      // Removed meanwhile (read on a conflict): nothing more to say of it.
      if (logged() || !this.catalog.server(spec.id)) return;
      try {
        return await append(attempt > REGISTER_ATTEMPTS ? 'any' : (this.catalog.revisionOf(spec.id) ?? 'any'));
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError)) throw err;
        await this.catchUp(spec.id);
      }
    }
  }

  /** Registry appends of one server run in order (discovery before the health change it caused). */
  private enqueue(id: string, fn: () => Promise<void>): void {
    const next = (this.chains.get(id) ?? Promise.resolve())
      .then(() => (this.closed || !this.catalog.server(id) ? undefined : fn()))
      .catch((err) => this.options.logger?.warn({ err, serverId: id }, 'mcp registry event not recorded'));
    this.chains.set(id, next);
  }

  private async record(
    id: string,
    tenant: string,
    type: string,
    data: Record<string, unknown>,
    actor: Actor = SYSTEM_ACTOR,
    correlationId?: string,
    expectedRevision: ExpectedRevision = 'any',
    version = 1,
  ): Promise<void> {
    eventCatalog.validate(type, version, data);
    const e: PendingEvent = createEvent({ type, version, stream: `${MCP_SERVER_STREAM_PREFIX}${id}`, tenant, actor, correlationId, data }, this.options.clock);
    const res = await this.options.store.append(e.stream, [e], { expectedRevision });
    for (const r of res.events) this.catalog.apply(r);
  }

  private serverInfo(id: string): ServerInfo {
    const s = this.catalog.server(id);
    if (!s) throw new NotFoundError('MCP server', id);
    const { tools, toolsHash: _h, ...info } = s;
    return { ...info, toolCount: tools.length };
  }

  /** Keep the search index in step with the catalog: a server's documents are replaced whole. */
  private reindex(c: CatalogChange): void {
    if (c.kind === 'health' || c.kind === 'reconfigured') return;
    const old = this.indexed.get(c.serverId) ?? [];
    const s = this.catalog.server(c.serverId);
    const tools = s?.tools ?? [];
    const ids = tools.map((t) => `${t.serverId}/${t.upstreamName}`);
    this.indexed.set(c.serverId, ids);
    const keep = new Set(ids);
    this.search.remove(old.filter((i) => !keep.has(i)));
    if (tools.length) {
      void this.search
        .upsert(tools.map((t) => ({ id: `${t.serverId}/${t.upstreamName}`, name: t.name, server: t.server, tool: t.upstreamName, title: t.title, description: t.description ?? '', scope: s!.tenant })))
        .catch((err) => this.options.logger?.warn({ err }, 'tool search index not updated'));
    }
  }
}

/** Whether two upstream specs connect alike: equal once their absent (undefined) fields are left out. */
function sameSpec(a: UpstreamSpec, b: UpstreamSpec): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}
