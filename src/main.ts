import { setMaxListeners } from 'node:events';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import type { DestinationStream, Logger } from 'pino';
import { Registry } from 'prom-client';
import { catalog } from '../events';
import type { RecordedEvent } from './core/envelope';
import type { MigrateLatestReturnType } from '../migrations';
// The specific files, not the './agent' barrel: it re-exports the OpenAI client (loaded only with OPENAI_BASE_URL).
import { assertTaskRunnable } from './agent/runtime/assert-task-runnable';
import { ApprovalsService } from './agent/approvals-service';
import { createAgentRuntime } from './agent/create-agent-runtime';
import { erasureReachError } from './app/erasure-reach-error';
import { makeDataDir } from './app/make-data-dir';
import { llmReadinessCheck } from './agent/llm/llm-readiness';
import { SqlSpendLedger } from './agent/policy/spend-ledger';
import { buildApp, createLogger, stdoutLogDestination, type ReadinessCheck } from './api';
import { sharedReadinessCheck, softReadinessCheck } from './telemetry/readiness-check';
import { chainReadiness } from './web3/chain-readiness';
import { mcpGatewayService } from './api/mcp-gateway-service';
import { proofsService } from './api/proofs-service';
import { uiPlugin } from './ui';
import { connectsUpstreams, parseRoles, ROLE_NAMES, type Roles } from './app/roles';
import { checkModelFiles } from './search/embedder';
import { CacheLeaseStore, SqlLeaseStore, type Leadership } from './leader';
import { EventTraceContexts, initTracing, installHttpTracing, trackAuditLag, trackDependencies, tracedEventStore } from './telemetry';
import { trackAnchorerFunds } from './proofs/anchorer-funds-gauges';
import { kafkaSecurityWarning } from './core/kafka-security-settings';
import { kafkaConnectionSecurity } from './bus/kafka/connection-security';
import { ConfigError, redactUrl, redactUrlsIn, ShuttingDownError } from './core/errors';
import { untilAborted } from './core/within';
import { dialectOf } from './db/knex';
import { cachedSubjectKeys } from './erasure/cached-subject-keys';
import { SqlSubjectKeyStore } from './erasure/sql-subject-key-store';
import { startRecordedErasureSweep } from './readmodels/recorded-erasure-sweep';
import { createAuthenticator, createAuthFailureLimiter, createJwtVerifier, ensureAdminKey, isCredentialRevoked, mcpAuthenticate, SqlKeyStore, startUnissuedKeySweep } from './auth';
import { createRateLimiter } from './auth/rate-limit';
import { InProcessBus } from './bus/inprocess';
import { eventsTopic } from './bus/kafka/topic';
import { kafkaConsumerReadiness, stoppedReason, trackKafkaConsumers } from './bus/kafka/consumer-health';
import { KafkaConsumerStoppedError } from './bus/kafka/consumer-stopped-error';
import { loadOptional } from './core/load-optional';
import type { Bus } from './bus/port';
import { SqlCheckpointStore } from './checkpoints';
import { trustProxyOption, type Config } from './config';
import type { EventStore } from './eventstore/port';
import { eventsAfter } from './eventstore/events-after';
import { createdDatabaseWarning, openStores } from './app/open-stores';
import { McpGateway, mcpGatewayPlugin, readServersFile } from './mcp';
import { ownVariablesReadiness } from './app/own-variables-readiness';
import { registerAtStart, type StartupRegistrations } from './app/register-at-start';
import { registrationsReadiness } from './app/registrations-readiness';
import { countedErrorCode, createMetrics, instrumentEventStore, logLinesDroppedCounter } from './metrics';
import { Projector } from './projector/projector';
import { GapRepair, positionsText, rebuildCommands, REPLAY_ATTEMPTS } from './projector/gap-repair';
import { startSubjectIndexRepair } from './projector/subject-index-sweep';
import { chainSettingsError, readAnchorerKey, sealerKeyWarning, startAuditPipeline, type AuditPipeline } from './proofs';
import { SqlReadModels } from './readmodels/sql-read-models';
import { AUDIT_COMPLETE_CHECKPOINT, catchUpComplete, StoreAppliedThrough } from './readmodels/store-applied-through';
import { LIVE_TABLES } from '../projections/tables';
import { readCacheFor } from './readmodels/read-cache-choice';
import { appliersFor } from './projector/appliers-for';
import type { RelayLeadership } from './relay/relay-leadership';
import type { RelayOptions } from './relay/relay';
import { relayReadiness } from './relay/relay-readiness';
import { checkPortsFree } from './app/check-ports-free';
import { listenConfigError } from './app/listen-error';
import { createGateway, egressRulesOf, mcpOriginPolicyFrom, mcpSessionLimitsFrom } from './app/gateway';
import { recordPayloadPolicy } from './db/gateway-settings';
import { ChainRegistry } from './web3/chain-registry';
import { loadChainsFile } from './web3/chains-file';
import { loadPolicyFile } from './agent/policy/load-policy';
import { unregisteredServerPatterns } from './agent/policy/unregistered-servers';
import { SHARED_TENANT } from './mcp/types';
import { createContractDescriber } from './web3/describe-contract';
import { hardhatBootstrap } from './web3/local-chain';

const SYSTEM_ACTOR = { kind: 'system' as const, id: 'openmcp' };

// kafkajs (the relay, KafkaBus) is loaded only when KAFKA_BROKERS is set: the embedded default
// never needs it, and every start would pay for loading it.
const relayLeadershipModule = () => loadOptional('KAFKA_BROKERS', () => require('./relay/relay-leadership') as typeof import('./relay/relay-leadership'));
const kafkaLagModule = () => loadOptional('KAFKA_BROKERS', () => require('./projector/kafka-lag') as typeof import('./projector/kafka-lag'));
/** Kafka's default group.min.session.timeout.ms. */
const KAFKA_DEFAULT_MIN_SESSION_TIMEOUT_MS = 6000;
const kafkaBusModule = () => loadOptional('KAFKA_BROKERS', () => require('./bus/kafka/kafka-bus') as typeof import('./bus/kafka/kafka-bus'));

export type OpenMcp = {
  config: Config;
  app: FastifyInstance;
  /** Where the API listens, e.g. http://127.0.0.1:8080. */
  url: string;
  /** The bootstrap admin key when it was generated by this start (print it once), else undefined. */
  generatedAdminKey?: string;
  store: EventStore;
  knex: Knex;
  /** The MCP gateway, in a process whose roles call tools (api, gateway, agent: connectsUpstreams); else undefined. */
  gateway?: McpGateway;
  /**
   * Settles once the MCP servers of the configuration (`examples`, MCP_SERVERS_FILE) have been
   * registered, or failed to be (each failure logged, counted and on /readyz): the start does not
   * wait for them (registerAtStart). Resolved at once in a process that connects no upstream.
   */
  registered: Promise<void>;
  pipeline: AuditPipeline;
  /** Stop at once, in order (tests, start-up failures). */
  close(): Promise<void>;
  /**
   * Graceful shutdown (SIGTERM): /readyz turns 503, the agent stops taking tasks and gets up to
   * half of `deadlineMs` (SHUTDOWN_DEADLINE_MS) to finish its runs, handing the rest back; then
   * everything closes in order — HTTP lets requests in flight finish, the relay publishes and
   * checkpoints its batch, projectors commit, the sealer and anchorer give up their leases.
   * Requests still in flight at DRAIN_CUTOFF_SHARE of `deadlineMs` (tool calls, a registration
   * waiting for its connection, a contract description) are ended then, answered "shutting down".
   * The caller enforces the deadline (runStart exits when it passes).
   */
  drain(deadlineMs?: number): Promise<void>;
  /** True while draining. */
  draining(): boolean;
};

export type StartOptions = {
  /** Lines for a person (addresses, the generated key); default console.log. */
  print?: (line: string) => void;
  /** Where the JSON log goes (default stdout; tests read it). */
  logStream?: DestinationStream;
  /** Listen (default) or only build, for tests that use app.inject(). */
  listen?: boolean;
  /** How long the projector and the read models leave the read cache alone after a failure (default CACHE_SKIP_MS; tests wait less). */
  cacheSkipMs?: number;
  /** Extra kafkajs settings of the relay's client (tests shorten its connection retries). */
  relayKafka?: RelayOptions['kafka'];
  /**
   * Called with the MCP gateway as soon as it is made, before its upstreams start: `openmcp start`
   * kills them as the process exits, also when it exits before the start is done (a second Ctrl-C).
   */
  onGateway?: (gateway: McpGateway) => void;
};

type Closer = { name: string; close(): Promise<unknown> };

/**
 * The share of a drain's deadline (SHUTDOWN_DEADLINE_MS) after which requests still in flight are
 * ended (McpGateway.endInFlight, untilCutOff): the last quarter (2.5 s of the default 10 s) is for
 * recording their outcomes and the steps after HTTP (relay, projectors, stores, tracing's 2 s at most).
 */
export const DRAIN_CUTOFF_SHARE = 0.75;

/** `fn`, answering ShuttingDownError(`what`) once `signal` aborts (a drain's cut-off) if it has not answered by then; what it waits for goes on. */
function untilCutOff<A extends unknown[], T>(fn: (...args: A) => Promise<T>, signal: AbortSignal, what: string): (...args: A) => Promise<T> {
  return (...args) => (signal.aborted ? Promise.reject(new ShuttingDownError(what)) : untilAborted(fn(...args), signal, () => new ShuttingDownError(what)));
}

/**
 * What the start did to the schema, for the operator upgrading: the migrations it ran, and a
 * warning when the database was migrated by a newer release (this one runs on it: a rolling
 * upgrade's old process, or a rollback).
 */
function logMigrations(logger: Logger, m: MigrateLatestReturnType): void {
  if (m.applied.length) logger.info({ migrations: m.applied }, `database migrated: ${m.applied.join(', ')}`);
  if (m.newer.length) {
    logger.warn(
      { migrations: m.newer },
      `the database has migrations of a newer release (${m.newer.join(', ')}): this release runs on that schema, as migrations are additive; finish the upgrade, or roll back as docs/operations.md says ("Upgrading without downtime")`,
    );
  }
}

/**
 * The start's line for a person: where the process listens and what it serves there. A process
 * with neither `api` nor `gateway` serves only its probes and metrics (its /ui and /mcp answer 404).
 * @example listeningLine('http://127.0.0.1:8080', parseRoles('projector')) // '… (projector: health …/readyz, metrics …/metrics)'
 */
function listeningLine(url: string, roles: Roles): string {
  const serves = [
    ...(roles.api ? [`dashboard: ${url}/ui`, `OpenAPI JSON: ${url}/docs`] : []),
    ...(roles.gateway ? [`MCP: ${url}/mcp`] : []),
  ];
  if (!serves.length) serves.push(`${ROLE_NAMES.filter((r) => roles[r]).join(', ')}: health ${url}/readyz, metrics ${url}/metrics`);
  return `OpenMCP-Chain listening on ${url} (${serves.join(', ')})`;
}

/** Readiness of a single-leader role: always up; the detail says leader (with its fencing token) or standby. */
function leaderCheck<L extends Leadership>(name: string, l: L, more?: (l: L) => string): ReadinessCheck {
  return { name, check: async () => ({ state: 'up', detail: l.isLeader() ? `leader (token ${l.token()})${more ? `, ${more(l)}` : ''}` : 'standby' }) };
}

/** Readiness of tool search: hybrid, or lexical only (no model, or the model failed) and why. */
function toolSearchCheck(gateway: McpGateway): ReadinessCheck {
  return {
    name: 'tool search',
    check: async () => {
      const s = gateway.status().search;
      if (s.mode === 'lexical') return { state: 'degraded', detail: `lexical only (BM25): ${s.reason}` };
      // Hybrid, but the last index update failed (disk full, read-only DATA_DIR): searches go on from memory.
      return s.reason ? { state: 'degraded', detail: `hybrid (${s.model}); ${s.reason}` } : { state: 'up', detail: `hybrid (${s.model})` };
    },
  };
}

/**
 * The composition root: the only place that knows which adapter serves each port.
 * Nothing configured = the embedded default (SQLite under DATA_DIR, in-memory bus and cache,
 * a local Hardhat chain). Each production variable switches its part (README, "Configuration"; every variable in docs/configuration.md).
 * Resources are closed in reverse order of opening, on `close()` or when start-up fails.
 */
export async function startOpenMcp(config: Config, options: StartOptions = {}): Promise<OpenMcp> {
  const print = options.print ?? ((line: string) => console.log(line));
  const roles = parseRoles(config.OPENMCP_ROLES);
  if (!roles.all && !config.CHAIN_RPC_URL) {
    // Each process would start its own chain: separate roles must share one.
    throw new ConfigError('Invalid configuration: OPENMCP_ROLES (or start --roles) other than all needs CHAIN_RPC_URL (and ANCHOR_CONTRACT): the embedded chain lives in one process, so processes of separate roles anchor on a chain node they share', {
      variable: 'CHAIN_RPC_URL',
    });
  }
  // Without CHAIN_RPC_URL the embedded chain runs Hardhat, absent from a production install (npm ci --omit=dev): said before anything is made.
  if (!config.CHAIN_RPC_URL) hardhatBootstrap();
  // A chain without its AuditAnchor's address, or an anchorer there without its key, stops it before anything is made too.
  const chainMissing = chainSettingsError(config, { anchorer: roles.anchorer });
  if (chainMissing) throw chainMissing;
  // So does an LLM response cache in memory that an erasure could not reach (roles split without REDIS_URL).
  const unreachable = erasureReachError(config, roles);
  if (unreachable) throw unreachable;
  // A policy the agent would refuse stops the start before anything is made: the database, the
  // bootstrap key, the chain. Read again when the agent is built, and checked then against the chains' ABIs.
  const policyFile = roles.agent ? loadPolicyFile(config.POLICY_FILE ? resolve(config.POLICY_FILE) : undefined) : undefined;
  // So do MCP_SERVERS_FILE and CHAINS_FILE, for the roles that read them (checked again when used).
  if (connectsUpstreams(roles) && config.MCP_SERVERS_FILE) readServersFile(config.MCP_SERVERS_FILE, SYSTEM_ACTOR);
  // Its chain ids are what POST /v1/tasks checks a task's chainId against.
  const taskChainIds = (roles.agent || roles.api) && config.CHAINS_FILE ? loadChainsFile(resolve(config.CHAINS_FILE)).map((c) => c.chainId) : undefined;
  // And an EMBEDDING_MODEL_DIR without the model's files (loaded, and run once, when the gateway is built).
  if (connectsUpstreams(roles) && config.EMBEDDING_MODEL_DIR) checkModelFiles(config.EMBEDDING_MODEL_DIR, config.EMBEDDING_MODEL_ID);
  // And JWT settings it cannot apply: a key file it cannot read, or jose (loaded only with them) missing or broken.
  const jwt = createJwtVerifier(config);
  // So do a PORT (when this start listens) and the embedded chain's CHAIN_PORT held by something else.
  await checkPortsFree(config, { listen: options.listen !== false });
  // And an ANCHORER_KEYSTORE its password does not decrypt: decrypted here, the slowest check so the last,
  // and the key handed to the pipeline (not decrypted twice).
  const anchorerKey = roles.anchorer && config.CHAIN_RPC_URL ? await readAnchorerKey(config) : undefined;
  // The registry before the logger: the log's lost lines are counted in it.
  const registry = new Registry();
  const logLinesDropped = logLinesDroppedCounter(registry);
  const logger = createLogger(
    config.LOG_LEVEL,
    options.logStream ?? stdoutLogDestination({ maxQueuedBytes: config.LOG_BUFFER_MAX_BYTES, onLinesLost: (reason, lines) => logLinesDropped.inc({ reason }, lines) }),
  );
  const tracing = initTracing(config, { logger });
  const closers: Closer[] = [{ name: 'tracing', close: () => tracing.shutdown() }];
  let draining = false;
  /** Aborted at a drain's cut-off (DRAIN_CUTOFF_SHARE of its deadline): requests still waiting end then (endInFlight). */
  const cutOff = new AbortController();
  // One listener per contract description in flight: no leak warning past 10.
  setMaxListeners(0, cutOff.signal);
  /** Set once closeAll begins: a start-up registration it ends is no failure to report. */
  let closing = false;
  let agentRuntime: { stop(graceMs?: number): Promise<void> } | undefined;
  // The chains of CHAINS_FILE also tell the dashboard's approvers whose contract and which token a proposal names.
  let contractChains: ChainRegistry | undefined;
  const closeAll = async () => {
    closing = true;
    for (const c of closers.splice(0).reverse()) {
      try {
        await c.close();
      } catch (err) {
        logger.error({ err, component: c.name }, 'error while shutting down');
      }
    }
  };
  try {
    // Owner only: it holds admin.key and the other key files, and (embedded) the whole log.
    makeDataDir(config.dataDir);
    const metrics = createMetrics({ registry, processMetrics: true });

    const stores = await openStores(
      config,
      {
        onLost: (err) => logger.warn({ err, component: 'redis' }, 'redis connection lost (reconnecting)'),
        onRestored: () => logger.info({ component: 'redis' }, 'redis connection restored'),
      },
      // knex's lines (a pooled connection an outage cut) are the process's JSON too, as kafkajs's are.
      (message) => logger.warn({ component: 'knex' }, redactUrlsIn(message)),
    );
    closers.push({ name: 'stores', close: () => stores.close() });
    if (stores.createdDatabase) {
      logger.warn({ database: stores.createdDatabase }, createdDatabaseWarning(stores.createdDatabase));
    }
    logMigrations(logger, stores.migrations);
    const { knex, sqlStore, cache } = stores;
    const rawStore = stores.store;
    const traceContexts = new EventTraceContexts(cache);
    const store = tracedEventStore(instrumentEventStore(rawStore, metrics), tracing.enabled ? traceContexts : undefined);

    // Background roles' errors count in openmcp_errors_total too (as API errors do): an alert on
    // ANCHOR_MISMATCH or a dependency down must see them, not only the log.
    const countError = (err: unknown) => metrics.errors.inc({ code: countedErrorCode(err) });
    const checkpoints = new SqlCheckpointStore(knex);
    const brokers = config.KAFKA_BROKERS?.split(',');
    const topic = eventsTopic(config.KAFKA_TOPIC_PREFIX);
    // One sealer, one anchorer and one relay among every process sharing this log (fenced leases).
    // In MySQL when there is one: its fencing tokens survive restarts, where Redis without
    // persistence would start them again at 1. Redis only when the database is per process (SQLite).
    const leases = dialectOf(knex) === 'mysql' || !config.REDIS_URL ? new SqlLeaseStore(knex) : new CacheLeaseStore(cache);
    // kafkajs's lines go through our logger (JSON, LOG_LEVEL), not kafkajs's console logger.
    // And TLS and SASL as KAFKA_SSL* and KAFKA_SASL_* say, for every client (relay, bus, topic ensure, lag, readiness).
    const kafkaLog = brokers ? { ...kafkaConnectionSecurity(config), logCreator: kafkaBusModule().kafkaLogCreator(logger) } : {};
    const kafkaWarning = brokers && kafkaSecurityWarning(config);
    if (kafkaWarning) logger.warn({ variable: 'KAFKA_SASL_MECHANISM' }, kafkaWarning);
    let relays: RelayLeadership | undefined;
    if (brokers && roles.relay) {
      relays = relayLeadershipModule().startRelayLeadership({
        store,
        checkpoints,
        leases,
        ttlMs: config.LEADER_LEASE_MS,
        relay: { brokers, clientId: config.KAFKA_CLIENT_ID, topic, registry, traceContexts: tracing.enabled ? traceContexts : undefined, kafka: { ...kafkaLog, ...options.relayKafka } },
        log: (line) => logger.info(line),
        onError: (err) => {
          countError(err);
          logger.warn({ err, role: 'relay' }, 'relay error (will retry)');
        },
      });
      closers.push({ name: 'relay', close: () => relays!.stop() });
    }
    const kafkaBus = brokers
      ? new (kafkaBusModule().KafkaBus)({
          brokers,
          clientId: config.KAFKA_CLIENT_ID,
          topic,
          sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
          // kafkajs' 3 s, or a third of a shorter session: a member misses two beats before it is dropped.
          heartbeatIntervalMs: Math.min(3_000, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 3)),
          kafka: kafkaLog,
          onInvalidMessage: (err) => {
            countError(err);
            logger.error({ err, role: 'bus' }, 'skipped a Kafka message that is not an event envelope, or whose hash does not check out (a position the read models then lack is read from the event store by the gap repair after PROJECTION_GAP_REPAIR_MS)');
          },
          // Its JoinGroup refused (KAFKA_SESSION_TIMEOUT_MS out of the brokers' range: stays stopped)
          // or another error kafkajs does not retry (the group's ACL removed: the bus restarts it).
          // Either way /readyz's `kafka consumer (<group>)` line and openmcp_kafka_consumers_stopped say so.
          onConsumerStopped: (err, group, restart) => {
            countError(err);
            logger.error(
              { err, role: 'bus', group },
              restart
                ? `${err instanceof KafkaConsumerStoppedError ? err.message : `the Kafka consumer of group ${group} could not be started again: ${stoppedReason(err)}`}; restarting it in ${Math.ceil(restart.inMs / 1000)} s (restart ${restart.attempt}), from the group's committed offsets; the read models wait meanwhile`
                : err instanceof ConfigError
                  ? err.message
                  : `the Kafka consumer of group ${group} stopped: ${stoppedReason(err)}; restart the process once it is fixed`,
            );
          },
          onConsumerRestarted: (group, attempt) => logger.info({ role: 'bus', group }, `the Kafka consumer of group ${group} consumes again (restart ${attempt})`),
        })
      : undefined;
    // Kafka's default group.min.session.timeout.ms: brokers that keep it refuse a shorter session
    // (a broker may be set lower, so this is allowed), and say so only when the consumer joins.
    if (kafkaBus && roles.projector && config.KAFKA_SESSION_TIMEOUT_MS < KAFKA_DEFAULT_MIN_SESSION_TIMEOUT_MS) {
      logger.warn(
        { variable: 'KAFKA_SESSION_TIMEOUT_MS' },
        `KAFKA_SESSION_TIMEOUT_MS=${config.KAFKA_SESSION_TIMEOUT_MS} is below Kafka's default group.min.session.timeout.ms (${KAFKA_DEFAULT_MIN_SESSION_TIMEOUT_MS}): brokers that keep that default refuse it, and the projector's consumer stops`,
      );
    }
    const bus: Bus =
      kafkaBus ??
      new InProcessBus(store, checkpoints, {
        onError: (err, group) => {
          countError(err);
          logger.warn({ err, role: 'bus', group }, 'bus consumer error (will retry)');
        },
      });
    closers.push({ name: 'bus', close: () => bus.close() });

    let projector: Projector | undefined;
    // Events the gap repair applied (and rebuilt the streams of) after their live notices went out: told to this process's dashboard streams again.
    const shownLate = new Set<(events: RecordedEvent[]) => void>();
    if (roles.projector) {
      projector = new Projector({
        knex,
        bus,
        cache,
        appliers: appliersFor(store),
        eventsAfter: (position) => eventsAfter(store, position),
        // Partitions apply out of global order: the group's lag is counted on Kafka instead.
        lag: kafkaBus ? kafkaLagModule().kafkaProjectionLag({ store, checkpoints, bus: kafkaBus, group: config.KAFKA_CONSUMER_GROUP }) : undefined,
        registry,
        group: config.KAFKA_CONSUMER_GROUP,
        lockHoldMs: brokers ? 0 : undefined,
        cacheSkipMs: options.cacheSkipMs,
        onError: (err) => {
          countError(err);
          logger.warn({ err, role: 'projector' }, 'projector batch failed (will retry)');
        },
        onCacheError: (err) => {
          metrics.errors.inc({ code: 'DEPENDENCY_UNAVAILABLE' });
          logger.warn({ err, role: 'projector' }, 'read cache unreachable: projecting into SQL only, cached views retired (cache epoch raised)');
        },
      });
      await projector.start();
      closers.push({ name: 'projector', close: () => projector!.stop() });
      // An event the bus lost would hold GET /v1/events for good (on either store).
      const p = projector;
      const repair = new GapRepair({
        knex,
        store,
        apply: (events) => p.applyEvents(events),
        replay: (events) => p.replayStream(events),
        afterMs: config.PROJECTION_GAP_REPAIR_MS,
        registry,
        onRepaired: (positions) =>
          logger.warn({ role: 'projector', positions }, `read models lacked ${positionsText(positions)}, not delivered by the bus in PROJECTION_GAP_REPAIR_MS: read from the event store and applied`),
        onReplayed: (events) =>
          logger.warn(
            { role: 'projector', events },
            `read models applied ${positionsText(events.map((e) => e.position))} from the event store after a later event of the same stream: rebuilt those streams' documents in ${[...new Set(events.flatMap((e) => e.projections))].join(', ')} from every event of the stream in the event store`,
          ),
        onOutOfOrder: (events) =>
          logger.error(
            { role: 'projector', events },
            `read models applied ${positionsText(events.map((e) => e.position))} from the event store after a later event of the same stream and could not rebuild those streams (${[...new Set(events.map((e) => e.reason))].join('; ')}): ${[...new Set(events.flatMap((e) => e.projections))].join(', ')} may show those streams in an older or incomplete state and are not tried again; run ${rebuildCommands(events.flatMap((e) => e.projections))} (docs/operations.md, "An event the bus lost")`,
          ),
        onReplayRetry: (events, reason, retryInMs, failures) =>
          logger.warn(
            { role: 'projector', events, failures },
            `read models applied ${positionsText(events.map((e) => e.position))} from the event store after a later event of the same stream; rebuilding ${events[0].stream} failed for a moment (${reason}): will retry in ${Math.round(retryInMs / 1000)} s (try ${failures + 1} of ${REPLAY_ATTEMPTS}, docs/operations.md, "An event the bus lost")`,
          ),
        appliers: appliersFor(store),
        onReplayError: (err) => countError(err),
        onShown: (events) => {
          for (const tell of shownLate) tell(events);
        },
        onHeld: (position, reason) =>
          logger.error({ role: 'projector', position }, `read models held at position ${position}, not delivered by the bus and not repairable: ${reason}; GET /v1/events stays held there (tried again in PROJECTION_GAP_REPAIR_MS; docs/operations.md)`),
        // A projection refusing the event was reported by the projector (onError above).
        onError: (err) => logger.warn({ err, role: 'projector' }, 'repairing a position the bus has not delivered failed (tried again in PROJECTION_GAP_REPAIR_MS)'),
      });
      repair.start();
      closers.push({ name: 'gap repair', close: () => repair.stop() });
      // Events an older release's projector applied (a rolling upgrade, a rollback) lack their actor and subject index rows: filled here.
      const subjectIndex = startSubjectIndexRepair(knex, {
        registry,
        onFilled: ({ found, filled }) =>
          logger.warn(
            { role: 'projector', found, filled },
            `${filled} of ${found} audit rows applied by a projector of an earlier release (a rolling upgrade or a rollback) lacked their actor and subject index rows, which subject exports read: filled (docs/operations.md, "The subject index (2026-12-11)")`,
          ),
        onError: (err) => {
          countError(err);
          logger.warn({ err, role: 'projector' }, 'filling the subject index of events an earlier release applied failed (tried again in a minute)');
        },
      });
      closers.push({ name: 'subject index repair', close: () => subjectIndex.stop() });
      if (!store.gapFreePositions) {
        // KurrentDB: the position up to which the audit log is complete, found from the store in
        // the background (from the start of the log after the upgrade), not a few thousand events a list.
        let stopping = false;
        const pastEnd = (kept: number, head: number) =>
          logger.warn({ role: 'projector', kept, head }, `the audit log's complete position ${kept} (checkpoint ${AUDIT_COMPLETE_CHECKPOINT}) lay past the end of the event store's log (${head}): KurrentDB restored from an older backup? Dropped, found again from the start of the log (docs/operations.md, "Backup and restore")`);
        const catchingUp = catchUpComplete(new StoreAppliedThrough(knex, store, LIVE_TABLES.auditEvents, pastEnd), () => stopping).then(
          (through) => logger.info({ role: 'projector', through }, 'the audit log is complete up to this position of the event store (GET /v1/events lists up to it)'),
          (err: unknown) => logger.warn({ err, role: 'projector' }, 'finding where the audit log is complete failed (the lists find it as they are asked)'),
        );
        closers.push({ name: 'audit complete catch-up', close: async () => ((stopping = true), await catchingUp) });
      }
    }
    // Without a projector here, read-your-writes polls the read models another process writes.
    const readModels = new SqlReadModels({
      knex,
      cache: readCacheFor({ cache, shared: Boolean(config.REDIS_URL), projectorSeesEveryEvent: Boolean(projector) && !brokers }),
      applied: projector?.applied,
      // The audit list then never runs past a position a lagging Kafka partition has not applied:
      // counted in the table where positions are gap-free (SQL), read from the store where not (KurrentDB).
      gapFreePositions: store.gapFreePositions === true,
      store,
      cacheSkipMs: options.cacheSkipMs,
      onCacheError: (err) => {
        metrics.errors.inc({ code: 'DEPENDENCY_UNAVAILABLE' });
        logger.warn({ err }, 'read cache unreachable: answering from SQL for now');
      },
    });

    const keys = new SqlKeyStore(knex);
    // MCP_PAYLOAD_POLICY=encrypted: the subjects' data keys, in the SQL database beside the API keys.
    const subjectKeys = cachedSubjectKeys(new SqlSubjectKeyStore(knex));
    const admin = await ensureAdminKey(config, keys);
    // Printed at once: a start that fails later (a port taken since checkPortsFree, a chain that fails)
    // leaves the key file behind, and the next start, finding it, prints nothing.
    if (admin.generated) {
      print(`Bootstrap admin API key (shown once, stored in ${join(config.dataDir, 'admin.key')}):`);
      print(`  ${admin.key}`);
    }
    if (admin.removedStaleFile) {
      logger.warn(`${admin.removedStaleFile} held an older bootstrap admin key, replaced by OPENMCP_ADMIN_KEY: removed it, so a start without the variable cannot put the old key back (such a start makes a new key and prints it once)`);
    }
    // Keys a POST /v1/keys left being issued (its process killed, the event store or the database
    // failing midway) stop counting against their tenant's limit, and their log is completed.
    if (roles.api) {
      const sweep = startUnissuedKeySweep(
        { store, catalog, keys },
        {
          onSettled: ({ letGo, revoked }) => logger.warn({ letGo, revoked }, 'api keys never handed out were let go (revoked: their ApiKeyCreated was recorded, ApiKeyRevoked now too)'),
          onError: (err) => logger.warn({ err }, 'settling api keys never handed out failed (tried again in a minute)'),
        },
      );
      closers.push({ name: 'unissued key sweep', close: () => sweep.stop() });
      // Data keys a restored database brought back although the log records their erasure: erased again.
      const erasures = startRecordedErasureSweep(knex, {
        onErased: (kids) => logger.warn({ kids }, 'subject keys the log records as erased were live (a database restored from a backup taken before their erasure?): erased again'),
        onError: (err) => logger.warn({ err }, 'checking subject keys against the erasures the log records failed (tried again in a minute)'),
      });
      closers.push({ name: 'recorded erasure sweep', close: () => erasures.stop() });
    }
    // A brake on guessing credentials, per client address (request.ip, see TRUST_PROXY).
    const failures = config.RATE_LIMIT_AUTH_FAILURES
      ? createAuthFailureLimiter({
          cache,
          perAddressPerMinute: config.RATE_LIMIT_AUTH_FAILURES,
          onCacheError: (err) => logger.warn({ err }, 'rate-limit counters unreachable: counting in this process for now'),
        })
      : undefined;
    const auth = createAuthenticator({ keys, jwt, failures });

    // Only a process that calls tools connects to the upstreams (a stdio server runs once per such
    // process), checks their health and records their discoveries and health changes; it alone
    // registers OPENMCP_EXAMPLES and MCP_SERVERS_FILE. A relay, projector, sealer or anchorer
    // process starts none of them.
    let gateway: McpGateway | undefined;
    let registrations: StartupRegistrations | undefined;
    if (connectsUpstreams(roles)) {
      const gw = await createGateway({ config, store, cache, logger, registry, subjectKeys });
      // For `openmcp mcp stdio` on this database, which reads settings of its own: it refuses another policy.
      await recordPayloadPolicy(knex, config.MCP_PAYLOAD_POLICY);
      options.onGateway?.(gw);
      await gw.start();
      gateway = gw;
      // Its close() waits for the registrations in flight, and starts no upstream for them after.
      closers.push({ name: 'gateway', close: () => gw.close() });
      // Set explicitly (OPENMCP_EXAMPLES=on, the file's entries), they are this process's configuration: it refuses their
      // removal over the API while it registers them (ensureServer). `examples` by default is not: its removal sticks.
      // In the background, as `openmcp mcp stdio` does: each waits for its upstream's connection (up to
      // MCP_CONNECT_TIMEOUT_MS), and the port opens without waiting for them (/readyz names those still registering).
      registrations = registerAtStart(gw, config, SYSTEM_ACTOR, {
        logger,
        onFailure: (server, err) => {
          // Closing: the gateway ended it (no upstream starts once it closes); nothing went wrong.
          if (closing) return void logger.info({ err, server }, `MCP server ${server}: start-up registration ended by shutdown`);
          countError(err);
          logger.error({ err, server }, `MCP server ${server}: start-up registration failed (the process serves on without it; /readyz names it; restart to try again)`);
        },
      });
      const r = registrations;
      void r.settled.then(() => {
        if (r.count && !r.failed().length && !closing) logger.info({ servers: r.count }, 'MCP servers of the configuration registered');
      });
    }

    const findEvent = async (id: string) => {
      if (sqlStore) return sqlStore.getById(id);
      const view = await readModels.getAuditEvent(null, id);
      if (!view) return undefined;
      const { seq: _seq, batchId: _batchId, ...envelope } = view;
      return envelope;
    };
    const pipeline = await startAuditPipeline({
      store,
      config,
      findEvent,
      roles: { sealer: roles.sealer, anchorer: roles.anchorer },
      anchorerKey,
      leases,
      leaseTtlMs: config.LEADER_LEASE_MS,
      log: (line) => logger.info(line),
      debug: (line) => logger.debug(line),
      onError: (role, err) => {
        countError(err);
        logger.warn({ err, role }, `${role} error (will retry)`);
      },
    });
    closers.push({ name: 'audit pipeline', close: () => pipeline.stop() });
    const sealerKeyLine = sealerKeyWarning({ config, roles, sealerAddress: pipeline.sealerAddress });
    if (sealerKeyLine) logger.warn({ component: 'sealer' }, sealerKeyLine);

    if (roles.agent) {
      const agent = await createAgentRuntime({
        config,
        store,
        catalog,
        // Set: the agent role connects to the upstreams (connectsUpstreams).
        tools: gateway!,
        cache,
        // Daily caps and token budgets are policy: kept in the SQL database, which is backed up and
        // survives restarts (Redis is a cache, started empty after a loss).
        ledger: new SqlSpendLedger(knex),
        checkpoints,
        logger,
        traceContexts: tracing.enabled ? traceContexts : undefined,
        subjectKeys,
      });
      await agent.runtime.start();
      agentRuntime = agent.runtime;
      contractChains = agent.chains;
      closers.push({
        name: 'agent runtime',
        close: async () => {
          await agent.runtime.stop();
          await agent.chains?.close();
        },
      });
      logger.info({ signer: agent.signer }, 'agent runtime signs task outputs');
      // A tool pattern naming a server no tenant of its entry has (a typo: `exmaples__now`) stops or bounds nothing.
      // Servers also come at run time, so it is a warning, once the configuration's own have registered.
      const gw = gateway!;
      const policy = policyFile!;
      void registrations?.settled.then(() => {
        if (closing) return;
        const serversOf = (t: string) => (t === SHARED_TENANT ? gw.catalog.allServers() : gw.catalog.listServers(t)).map((srv) => srv.name);
        for (const u of unregisteredServerPatterns(policy, serversOf)) {
          logger.warn(
            { policy: u.entry, field: u.field, pattern: u.pattern },
            `POLICY_FILE: ${u.field} "${u.pattern}" of ${u.entry} names server "${u.server}", which is not registered${u.entry.startsWith('*/') ? '' : ' for its tenant'}: it matches no tool until one is (a typo? servers: ${[...new Set(serversOf(u.entry.slice(0, u.entry.indexOf('/'))))].join(', ') || 'none'})`,
          );
        }
      });
    }

    const checks: ReadinessCheck[] = [
      { name: `event store (${rawStore.name})`, check: async () => (await rawStore.ping(), { state: 'up' }) },
      { name: `database (${config.databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'mysql'})`, check: async () => (await knex.raw('SELECT 1'), { state: 'up' }) },
      softReadinessCheck(
        { name: `cache (${cache.name})`, check: async () => (await cache.ping(), { state: 'up' }) },
        'REST answers from SQL, rate limits count per process, /mcp sessions cannot be opened or moved, leases and wallet locks in it wait',
      ),
      // Kafka is checked (a metadata request), and only degrades: the API, /mcp and the agents
      // answer without it; projectors wait, and the relay's own line says when it holds.
      kafkaBus
        ? softReadinessCheck({ name: `bus (${bus.name})`, check: async () => (await kafkaBus.ping(), { state: 'up' }) }, 'projectors wait for it; REST, /mcp and agents go on')
        : { name: `bus (${bus.name})`, check: async () => ({ state: 'up' }) },
      softReadinessCheck(
        { name: 'chain', check: () => chainReadiness({ rpcUrl: pipeline.rpcUrl, contract: pipeline.contractAddress, chainId: config.CHAIN_RPC_URL ? config.CHAIN_ID : undefined, startedOn: pipeline.anchorer.startedOn }) },
        'sealed batches wait to be anchored; proofs of anchored batches are still served',
      ),
      ...(gateway ? [toolSearchCheck(gateway)] : []),
      // Servers this replica cannot reach for a variable its environment lacks: recorded nowhere else (degraded, named).
      ...(gateway ? [ownVariablesReadiness(gateway)] : []),
      // Registered in the background: in flight or failed, degraded (named); /readyz stays 200.
      ...(registrations?.count ? [registrationsReadiness(registrations)] : []),
      // Single leaders: a standby is ready (it takes over when the leader dies), the detail says which this is.
      // The relay's check also says when publishing is held up (an event too large, a refused topic).
      ...(relays ? [{ name: `relay (${topic})`, check: async () => relayReadiness(relays!) }] : []),
      // The projector's consumer, stopped by kafkajs (restarting, or for good on a refused setting):
      // degraded, as Kafka's own line is, also where projecting is all the process does.
      ...(kafkaBus && roles.projector ? [kafkaConsumerReadiness(kafkaBus, config.KAFKA_CONSUMER_GROUP)] : []),
      ...pipeline.leaderships.map(({ role, leadership }) => leaderCheck(role, leadership)),
      // Only where the setting matters: the api accepts tasks with an instruction by it, agents call
      // the model. Elsewhere it is no dependency, and an "OPENAI_BASE_URL is not set" line there
      // would read as the deployment's LLM degraded.
      ...(roles.api || roles.agent ? [llmReadinessCheck(config.OPENAI_BASE_URL)] : []),
    ];
    // /readyz and /metrics are public: shared, a flood of them reaches each dependency about once a second.
    const readiness = checks.map((c) => sharedReadinessCheck(c));

    trackDependencies(registry, readiness);
    if (kafkaBus) trackKafkaConsumers(registry, kafkaBus);
    if (roles.anchorer) trackAnchorerFunds(registry, { funds: pipeline.funds, lowFundsAnchors: config.ANCHORER_LOW_FUNDS_ANCHORS });
    trackAuditLag(registry, async () => {
      const sealed = await pipeline.queries.batchLog.sealedBatches();
      const anchorStream = await pipeline.queries.anchorStream();
      return {
        unsealedEvents: await eventsAfter(store, sealed.at(-1)?.lastPosition ?? -1),
        sealedBatches: sealed.length,
        anchoredBatches: anchorStream ? (await pipeline.queries.batchLog.anchorRecords(anchorStream)).length : 0,
      };
    });

    // One limiter for REST, /mcp and /ui/api: the same per-key and per-tenant windows, also in
    // its in-process fallback while Redis is down.
    const rateLimit = createRateLimiter({
      cache,
      perKeyPerMinute: config.RATE_LIMIT_PER_KEY,
      perTenantPerMinute: config.RATE_LIMIT_PER_TENANT,
      onCacheError: (err) => logger.warn({ err }, 'rate-limit counters unreachable: counting in this process for now'),
    });
    const app = await buildApp({
      store,
      catalog,
      readModels,
      cache,
      keys,
      subjectKeys,
      sealTaskInputs: config.MCP_PAYLOAD_POLICY === 'encrypted',
      auth,
      jwt,
      rateLimit: { perKeyPerMinute: config.RATE_LIMIT_PER_KEY, perTenantPerMinute: config.RATE_LIMIT_PER_TENANT },
      rateLimiter: rateLimit,
      maxKeysPerTenant: config.MAX_API_KEYS_PER_TENANT,
      trustProxy: trustProxyOption(config.TRUST_PROXY),
      metrics,
      proofs: proofsService(pipeline.queries, readModels),
      gateway: gateway && mcpGatewayService(gateway),
      egress: egressRulesOf(config),
      approvals: new ApprovalsService({ store, catalog }),
      readiness,
      assertTaskRunnable: (task) => assertTaskRunnable(config, task),
      taskChainIds,
      logger,
      routes: roles.api,
      draining: () => draining,
    });
    installHttpTracing(app);
    if (roles.gateway) {
      const origins = mcpOriginPolicyFrom(config);
      if (origins.allowedOrigins === '*') logger.warn('MCP_ALLOWED_ORIGINS=*: any web page a user opens may call /mcp from their browser (docs/security.md)');
      await app.register(mcpGatewayPlugin, { gateway: gateway!, cache, authenticate: mcpAuthenticate(auth, rateLimit), isRevoked: (p) => isCredentialRevoked(keys, p), origins, ...mcpSessionLimitsFrom(config) });
    }
    // An API process without the agent role reads the same CHAINS_FILE for the approvers' names,
    // without wallets: it only describes contracts, it never signs.
    if (roles.api && !contractChains && config.CHAINS_FILE) {
      const specs = loadChainsFile(resolve(config.CHAINS_FILE)).map(({ wallet: _wallet, ...chain }) => chain);
      if (specs.length) {
        const readOnly = await ChainRegistry.open(specs);
        contractChains = readOnly;
        closers.push({ name: 'ui chains', close: async () => readOnly.close() });
      }
    }
    if (roles.api) await app.register(uiPlugin, {
      store,
      readModels,
      authenticate: auth.authenticate,
      rateLimit,
      chainRpcUrl: pipeline.rpcUrl,
      anchorContract: pipeline.contractAddress,
      upstreams: (viewer) => gateway?.status(viewer).upstreams ?? [],
      // The chain's RPC may take up to 30 s: given up at a drain's cut-off, answered 503 (ShuttingDownError).
      ...(contractChains ? { describeContract: untilCutOff(createContractDescriber(contractChains), cutOff.signal, 'the contract description was not finished (the chain had not answered)') } : {}),
      heartbeatMs: config.UI_HEARTBEAT_MS,
      shownLate: (tell) => (shownLate.add(tell), () => void shownLate.delete(tell)),
      onError: (err: unknown) => logger.warn({ err }, 'ui live stream error (will retry)'),
    });
    closers.push({ name: 'http', close: () => app.close() });
    // First of all: a request held for a first start's registrations (a call of a tool not in the
    // catalog; a listing, for LISTING_HOLD_MS at most) answers now, rather than keep HTTP from
    // closing until their connects end on their own (the gateway, closed after, ends them).
    if (gateway) {
      const gw = gateway;
      closers.push({ name: 'held tool listings', close: async () => gw.releaseListing() });
    }

    let url = '';
    if (options.listen !== false) {
      url = await app.listen({ host: config.HOST, port: config.PORT }).catch((err: NodeJS.ErrnoException) => {
        // Said plainly, not as a stack trace. Checked at the start already (checkPortsFree): here
        // when another process took the port since.
        throw listenConfigError(err, config) ?? err;
      });
      print(listeningLine(url, roles));
      // A provider's key in the URL's path or query is masked, as in logs and messages.
      print(`AuditAnchor ${pipeline.contractAddress} on ${redactUrl(pipeline.rpcUrl, { pathKeys: true })}`);
      // The operator publishes both addresses; an auditor pins them (verify --contract, --signer).
      if (pipeline.sealerAddress) print(`Sealer ${pipeline.sealerAddress} signs batch heads (auditors pin it: openmcp verify --signer)`);
    }
    return {
      config,
      app,
      url,
      generatedAdminKey: admin.generated ? admin.key : undefined,
      store,
      knex,
      gateway,
      registered: registrations?.settled ?? Promise.resolve(),
      pipeline,
      close: closeAll,
      draining: () => draining,
      async drain(deadlineMs = config.SHUTDOWN_DEADLINE_MS) {
        draining = true;
        logger.info({ deadlineMs }, 'draining');
        // Requests in flight that wait on something with a timeout of its own (an upstream's
        // connection, MCP_CONNECT_TIMEOUT_MS; a tool call, MCP_CALL_TIMEOUT_MS; the chain's RPC)
        // end here at the latest, answered 503 DEPENDENCY_UNAVAILABLE (an MCP error on /mcp), a
        // tool call's ToolCallFailed recorded: what is left of the deadline is for the steps after HTTP.
        const timer = setTimeout(() => {
          logger.info({ deadlineMs }, 'drain cut-off: requests still in flight end now (503 DEPENDENCY_UNAVAILABLE); the rest of the deadline is for closing');
          cutOff.abort();
          gateway?.endInFlight();
        }, Math.floor(deadlineMs * DRAIN_CUTOFF_SHARE));
        timer.unref();
        try {
          // The HTTP server keeps answering meanwhile (requests in flight, /readyz = 503).
          await agentRuntime?.stop(Math.floor(deadlineMs / 2)).catch((err) => logger.warn({ err }, 'agent drain failed'));
          await closeAll();
        } finally {
          clearTimeout(timer);
        }
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
