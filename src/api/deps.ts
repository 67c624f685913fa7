import type { EgressRules } from '../mcp/egress-rules';
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import type { RateLimiter } from '../auth/rate-limit';
import type { EventCatalog } from '../../events/catalog';
import type { Cache } from '../cache/port';
import type { Clock } from '../core/clock';
import type { EventStore } from '../eventstore/port';
import type { ReadModels } from '../readmodels/port';
import type { Authenticator } from '../auth/authenticator';
import type { JwtVerifier } from '../auth/jwt';
import type { KeyStore } from '../auth/key-store';
import type { SubjectKeyStore } from '../erasure/subject-key-store';
import type { Metrics } from '../metrics/metrics';
import type { ApprovalsService, McpGatewayService, ProofsService, ReadinessCheck } from './services';

/**
 * Everything buildApp needs; src/main.ts fills it. Optional services answer 501/503 problems
 * on their routes when absent.
 */
export type AppDeps = {
  store: EventStore;
  catalog: EventCatalog;
  readModels: ReadModels;
  /** Rate-limit counters (Redis or in-memory). */
  cache: Cache;
  keys: KeyStore;
  /** Subjects' data keys (MCP_PAYLOAD_POLICY=encrypted): open tool-call payloads, erase a subject's key. Absent: sealed payloads show as erased, erasure answers 501. */
  subjectKeys?: SubjectKeyStore;
  /**
   * MCP_PAYLOAD_POLICY=encrypted: POST /v1/tasks records the instruction and the steps' arguments
   * sealed under the submitter's subject key (TaskSubmitted v3). Needs `subjectKeys`.
   */
  sealTaskInputs?: boolean;
  /** Built from `keys` and `jwt` when absent; pass one to share its key cache with /mcp. */
  auth?: Authenticator;
  jwt?: JwtVerifier;
  /** `failedAuthPerAddressPerMinute` (0 or absent = off) limits failed authentications per client address of the default `auth`. */
  rateLimit: { perKeyPerMinute: number; perTenantPerMinute: number; failedAuthPerAddressPerMinute?: number };
  /** Built from `rateLimit` when absent; pass one to count /mcp and /ui/api in the same windows (also in its fallback while Redis is down). */
  rateLimiter?: RateLimiter;
  /** Active API keys one tenant may hold (MAX_API_KEYS_PER_TENANT; beyond, POST /v1/keys is 409 API_KEY_LIMIT); none when unset. */
  maxKeysPerTenant?: number;
  /** Fastify's trustProxy: which proxies' X-Forwarded-For gives the client address (TRUST_PROXY); default none. */
  trustProxy?: boolean | string | ((address: string, hop: number) => boolean);
  /** Shared metrics; or a registry to create them on (other contexts add their gauges to it). */
  metrics?: Metrics;
  registry?: Registry;
  proofs?: ProofsService;
  gateway?: McpGatewayService;
  /**
   * The host operator's limits on servers that tenants register (MCP_EGRESS_ALLOWED_HOSTS,
   * MCP_EGRESS_DENIED_NETWORKS), checked by POST /v1/mcp-servers besides the internal ranges; the
   * gateway's upstream options carry the same for each connection. None when unset.
   */
  egress?: EgressRules;
  approvals?: ApprovalsService;
  readiness?: ReadinessCheck[];
  /** True once the process drains (SIGTERM): /readyz answers 503 so load balancers stop sending work, and event streams are refused (eventStreamsOf). */
  draining?: () => boolean;
  /**
   * Refuse a task this deployment cannot run before it is accepted (e.g. an instruction with no
   * LLM configured, or an answerRecipient under LLM_REDACTION=store: src/agent assertTaskRunnable). Throws an OpenMcpError (4xx).
   */
  assertTaskRunnable?: (task: { instruction?: string; steps?: unknown[]; answerRecipient?: string }) => void;
  /** The chain ids of CHAINS_FILE: a task naming another chainId is 400 (assertKnownChain); unset or empty (no chain configured), any is taken. */
  taskChainIds?: readonly number[];
  /** A pino logger (createLogger in src/api/logger.ts redacts credentials); false = silent. */
  logger?: FastifyBaseLogger | false;
  clock?: Clock;
  /** Max bytes of a request body (default 1 MiB). */
  bodyLimit?: number;
  /** Serve the /v1 routes (the api role); false leaves /healthz, /readyz, /metrics, /docs only. */
  routes?: boolean;
  /** How long POST /v1/tasks waits for the read model to show the new task (default 2000 ms). */
  readYourWritesMs?: number;
};
