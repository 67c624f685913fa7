import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ADMIN_KEY_ADVICE, adminKeyWeakness } from './auth/admin-key-strength';
import { ADDRESS_PATTERN } from './core/address';
import { kafkaSecuritySettings } from './core/kafka-security-settings';
import { ConfigError, redactUrl, urlHoldsCredentials } from './core/errors';
import { readSettingsFile } from './core/settings-text';
import { PrivateKeySchema } from './core/private-key';
import { readMysqlUrl } from './db/mysql-url';
import { KURRENTDB_URL_EXPECTED, kurrentConnectionStringProblem } from './eventstore/kurrentdb/connection-string';
import { isEgressHostPattern, networkOf } from './mcp/egress-rules';
import { firstInvalid, isHostName, isOrigin } from './mcp/origin-policy';

const PORT_EXPECTED = 'a port, a whole number from 1 to 65535';
const port = z.coerce.number(PORT_EXPECTED).int(PORT_EXPECTED).min(1, PORT_EXPECTED).max(65535, PORT_EXPECTED);
const positiveInt = z.coerce.number().int().min(1);
const onOff = z.enum(['on', 'off']);
const url = (protocols: string[], expected = `a URL (${protocols.join(', ')})`) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol.replace(':', ''));
    } catch {
      return false;
    }
  }, expected);
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
// `true` (trust every hop) is not offered: any client could then choose its address by the header.
function isTrustProxy(v: string): boolean {
  if (v === 'off' || /^[1-9]\d{0,1}$/.test(v)) return true;
  return v.split(',').every((part) => {
    const [addr, bits, extra] = part.trim().split('/');
    if (PROXY_NAMES.has(addr) && bits === undefined) return true;
    const family = isIP(addr);
    if (!family || extra !== undefined) return false;
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
}

/** TRUST_PROXY as fastify's trustProxy option (a hop count as the function proxy-addr would make of it). */
export function trustProxyOption(v: string): false | string | ((address: string, hop: number) => boolean) {
  if (v === 'off') return false;
  if (!/^\d+$/.test(v)) return v;
  const hops = Number(v);
  return (_address, hop) => hop < hops;
}

/** A comma-separated list setting whose every entry `valid` accepts, or `*` alone. */
const listOf = (valid: (entry: string) => boolean, expected: string) =>
  z.string().superRefine((v, ctx) => {
    const bad = firstInvalid(v, valid);
    if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `${expected}; ${bad === '*' ? '* goes alone, not in a list' : `${JSON.stringify(bad)} is not one`}` });
  });

const LLM_CACHE_TTL_MAX_MS = 7 * 86_400_000;
const LLM_CACHE_TTL_EXPECTED = `milliseconds, a whole number from 0 (the response cache off) to ${LLM_CACHE_TTL_MAX_MS} (7 days)`;
const MCP_CACHE_TTL_MAX_MS = 86_400_000;
const MCP_CACHE_TTL_EXPECTED = `milliseconds, a whole number from 0 (the result cache off) to ${MCP_CACHE_TTL_MAX_MS} (1 day)`;
const LOG_BUFFER_MAX_BYTES_EXPECTED = 'bytes, a whole number from 65536 (64 KiB) to 1073741824 (1 GiB)';

const MCP_CONNECT_TIMEOUT_EXPECTED = 'milliseconds, a whole number from 1000 (1 s) to 300000 (5 min)';

const BATCH_MAX_EVENTS_EXPECTED = 'a whole number of events from 3 (each batch adds its own BatchSealed and BatchAnchored to the log, which batches of 1 or 2 would seal forever) to 1000000';

const DATABASE_URL_EXPECTED = 'sqlite:<path> or mysql://<user>:<password>@<host>:<port>/<database> (?ssl=true for TLS)';

/**
 * Why DATABASE_URL cannot be opened as written (true: not a scheme we take), or undefined. A MySQL
 * URL is read as src/db/knex.ts reads it (readMysqlUrl): a password holding `/`, `#` or `@`
 * (base64 output) must be percent-encoded, and `ssl` is the one option after `?` (another is refused,
 * not ignored).
 */
function databaseUrlProblem(v: string): string | true | undefined {
  if (v.startsWith('sqlite:')) return undefined;
  if (!/^(mysql|mariadb):\/\//.test(v)) return true;
  const read = readMysqlUrl(v);
  return 'problem' in read ? read.problem : undefined;
}

const hexKey = PrivateKeySchema;
const address = z.string().regex(ADDRESS_PATTERN, 'a 0x-prefixed 20-byte address');

/**
 * Every setting, read from environment variables (names as in the table of docs/configuration.md) and an optional
 * file named by OPENMCP_CONFIG (JSON or YAML with the same keys; the environment wins).
 * Nothing set = the embedded default: SQLite under DATA_DIR, in-memory bus and cache, a local chain.
 */
export const ConfigSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(8080),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Bytes of JSON log lines held for a stdout that does not take them; past them lines are dropped, counted (stdoutLogDestination). 64 KiB to 1 GiB, default 16 MiB. */
  LOG_BUFFER_MAX_BYTES: z.coerce
    .number(LOG_BUFFER_MAX_BYTES_EXPECTED)
    .int(LOG_BUFFER_MAX_BYTES_EXPECTED)
    .min(65_536, LOG_BUFFER_MAX_BYTES_EXPECTED)
    .max(1_073_741_824, LOG_BUFFER_MAX_BYTES_EXPECTED)
    .default(16_777_216),
  // Stored as an unsalted SHA-256 (so it can be looked up by hash): a weak one could be searched
  // for offline in a leaked database, so only a random-looking one is accepted.
  OPENMCP_ADMIN_KEY: z
    .string()
    .superRefine((v, ctx) => {
      const weak = adminKeyWeakness(v);
      if (weak) ctx.addIssue({ code: 'custom', message: `a random key, and this one is ${weak}; ${ADMIN_KEY_ADVICE}` });
    })
    .optional(),
  // Unset (the default) registers `examples` unless an admin removed it; `on` at every start, as a
  // MCP_SERVERS_FILE entry; `off` never (registerExamples).
  OPENMCP_EXAMPLES: onOff.optional(),
  OPENMCP_ROLES: z.string().default('all'),
  SHUTDOWN_DEADLINE_MS: positiveInt.max(600_000).default(10_000),

  DATABASE_URL: z
    .string()
    // Placeholders in <>: a literal user:pass@ would be masked as credentials when printed (mysql://***@…).
    .superRefine((v, ctx) => {
      const problem = databaseUrlProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `${DATABASE_URL_EXPECTED}${problem === true ? '' : `: ${problem}`}` });
    })
    .optional(),
  /** SQLite commits: `full` = fsynced before acknowledged (survives power loss); `normal` = WAL without per-commit fsync (survives a process crash, not an OS crash). */
  SQLITE_SYNCHRONOUS: z.enum(['full', 'normal']).default('full'),
  // The client's own parser: a cluster's nodes (kurrentdb://n1:2113,n2:2113) are no URL `new URL` reads.
  KURRENTDB_URL: z
    .string()
    .superRefine((v, ctx) => {
      const problem = kurrentConnectionStringProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `${KURRENTDB_URL_EXPECTED}: ${problem}` });
    })
    .optional(),
  REDIS_URL: url(['redis', 'rediss']).optional(),
  REDIS_KEY_PREFIX: z.string().default('openmcp:'),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'comma-separated host:port list')
    .optional(),
  KAFKA_CLIENT_ID: z.string().min(1).default('openmcp'),
  /** TLS to the brokers, checked against the system's CAs (KAFKA_SSL_CA_FILE's instead when set); unset: off, unless a KAFKA_SSL_*_FILE is set. */
  KAFKA_SSL: onOff.optional(),
  /** PEM of the CA(s) that signed the brokers' certificates (a private CA), trusted instead of the system's; turns TLS on. */
  KAFKA_SSL_CA_FILE: z.string().optional(),
  /** PEM client certificate and its key, for brokers that authenticate clients by certificate (mutual TLS); both or neither. */
  KAFKA_SSL_CERT_FILE: z.string().optional(),
  KAFKA_SSL_KEY_FILE: z.string().optional(),
  /** SASL authentication to the brokers, with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (kafkaSecuritySettings). */
  // Kafka's own client properties write it upper-case (sasl.mechanism=SCRAM-SHA-512): taken either way.
  KAFKA_SASL_MECHANISM: z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'])).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  /** OAUTHBEARER: the OIDC provider's token endpoint, client and scope of the client-credentials grant (Kafka's sasl.oauthbearer.* properties); checked in kafkaSecuritySettings. */
  KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: z.string().optional(),
  KAFKA_SASL_OAUTHBEARER_CLIENT_ID: z.string().optional(),
  KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: z.string().optional(),
  KAFKA_SASL_OAUTHBEARER_SCOPE: z.string().optional(),
  /** SASL extensions sent with the token (RFC 7628 §3.1), `key=value,…`: Confluent Cloud's logicalCluster and identityPoolId. */
  KAFKA_SASL_OAUTHBEARER_EXTENSIONS: z.string().optional(),
  // At most 84: the relay's lease `relay:<prefix>.events.v1` must fit the 100 characters of leases.name.
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ -').max(84, 'at most 84 characters').default('openmcp'),
  KAFKA_CONSUMER_GROUP: z.string().min(1).default('openmcp-projector'),
  /** A projector that stops heartbeating (killed, hung) leaves the consumer group after this long; its partitions wait until then, and so does a member joining meanwhile. */
  KAFKA_SESSION_TIMEOUT_MS: positiveInt.min(3000).max(1_800_000).default(30_000),
  /**
   * An event the read models lack while a later one has been applied this long (the bus lost it)
   * is read from the event store and applied (GapRepair), on the SQL store and on KurrentDB.
   */
  PROJECTION_GAP_REPAIR_MS: positiveInt.min(1000).max(86_400_000).default(300_000),

  // HTTP only: the chain provider (createRpcProvider) speaks JSON-RPC over HTTP(S), with its timeout and resend rules.
  // Releases before 2026-12-11 took ws:// and wss:// (then failed every call): say what to give instead.
  CHAIN_RPC_URL: url(
    ['http', 'https'],
    "the node's HTTP JSON-RPC endpoint, http:// or https:// (WebSocket is not supported: a ws:// URL an earlier release took needs the node's http:// one, often another port)",
  ).optional(),
  /** The chain id CHAIN_RPC_URL must serve: the anchorer anchors nothing on another chain (an RPC URL of another network, where the same deployer's contract may sit at the same address). */
  CHAIN_ID: positiveInt.optional(),
  CHAIN_PORT: port.default(8545),
  ANCHOR_CONTRACT: address.optional(),
  /** Signs anchor transactions: only a process running the anchorer role reads it (startAuditPipeline requires it there with CHAIN_RPC_URL). */
  ANCHORER_PRIVATE_KEY: hexKey.optional(),
  ANCHORER_KEYSTORE: z.string().optional(),
  ANCHORER_KEYSTORE_PASSWORD: z.string().optional(),
  CHAIN_CONFIRMATIONS: z.coerce.number().int().min(0).max(64).default(1),
  /** Fee cap of anchor transactions, gwei per gas (decimals allowed, as on L2s): none offers more. Unset: no cap. */
  ANCHOR_MAX_FEE_GWEI: z
    .string()
    .regex(/^(0|[1-9][0-9]*)(\.[0-9]{1,9})?$/, 'gwei per gas, e.g. 50 or 0.05 (at most 9 decimals)')
    .refine((v) => /[1-9]/.test(v), 'more than 0 gwei')
    .optional(),
  /** Alert (OpenMcpAnchorerLowFunds) when the anchorer's balance covers fewer anchors than this at the last one's cost; 0: never. */
  ANCHORER_LOW_FUNDS_ANCHORS: z.coerce.number().int().min(0).max(1_000_000_000).default(1000),
  SEALER_PRIVATE_KEY: hexKey.optional(),
  /**
   * At least 3: every sealed batch adds two events of its own to the log (BatchSealed, and
   * BatchAnchored once anchored), so batches of 1 or 2 events would seal and anchor those
   * forever, one transaction each, on an idle system.
   */
  BATCH_MAX_EVENTS: z.coerce
    .number(BATCH_MAX_EVENTS_EXPECTED)
    .int(BATCH_MAX_EVENTS_EXPECTED)
    .min(3, BATCH_MAX_EVENTS_EXPECTED)
    .max(1_000_000, BATCH_MAX_EVENTS_EXPECTED)
    .default(1000),
  BATCH_MAX_SECONDS: z.coerce.number().positive().max(86_400).default(10),

  OPENAI_BASE_URL: url(['http', 'https']).optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_MODEL: z.string().default('gpt-4o-mini'),
  LLM_TEMPERATURE: z.coerce.number().min(0).max(2).default(0),
  LLM_MAX_TOKENS: positiveInt.default(1024),
  LLM_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  LLM_TOKEN_BUDGET_PER_TASK: positiveInt.optional(),
  LLM_TOKEN_BUDGET_PER_TENANT_DAY: positiveInt.optional(),
  /** What the log keeps of the model's turns: `store` (messages and answers whole) or `hash-only` (their hashes and the turns' metadata only: docs/agent.md). */
  LLM_REDACTION: z.enum(['store', 'hash-only']).default('store'),
  /**
   * How long the LLM response cache keeps an answer; 0 = off. No default here: unset means 24 hours,
   * or off under LLM_REDACTION=hash-only (responseCacheTtlMs), so whether the operator set it is known.
   */
  LLM_CACHE_TTL_MS: z.coerce
    .number(LLM_CACHE_TTL_EXPECTED)
    .int(LLM_CACHE_TTL_EXPECTED)
    .min(0, LLM_CACHE_TTL_EXPECTED)
    .max(LLM_CACHE_TTL_MAX_MS, LLM_CACHE_TTL_EXPECTED)
    .optional(),
  AGENT_PRIVATE_KEY: hexKey.optional(),
  AGENT_MAX_STEPS: positiveInt.max(1000).default(20),
  AGENT_STEP_TIMEOUT_MS: positiveInt.default(60_000),
  AGENT_TASK_TIMEOUT_MS: positiveInt.default(3_600_000),
  AGENT_CONCURRENCY: positiveInt.max(1000).default(4),
  AGENT_TASK_LEASE_MS: positiveInt.min(1000).default(30_000),
  AGENT_TOOL_RESULT_MAX_CHARS: positiveInt.min(100).max(1_000_000).default(32_000),
  /** Lease of the single leaders (relay, sealer, anchorer): a dead leader's standby takes over within it and a third (it tries every third of it, as the leader renews). */
  LEADER_LEASE_MS: positiveInt.min(1000).max(600_000).default(10_000),
  KNOWLEDGE_DIR: z.string().optional(),
  CHAINS_FILE: z.string().optional(),
  POLICY_FILE: z.string().optional(),

  EMBEDDING_MODEL_DIR: z.string().optional(),
  EMBEDDING_MODEL_ID: z.string().default('model'),
  MCP_SERVERS_FILE: z.string().optional(),
  /**
   * Tool arguments and results in the audit events (the gateway's, and the agent's task steps): `store` (their canonical JSON,
   * up to 256 KiB), `hash-only`, or `encrypted` (the gateway's ToolCall* events keep them sealed under the data key of the
   * call's subject, erasable by deleting the key; task steps keep hashes only: docs/security.md, "Erasure").
   */
  MCP_PAYLOAD_POLICY: z.enum(['store', 'hash-only', 'encrypted']).default('store'),
  /** How long one upstream tools/call may take before it fails (and counts against that upstream's breaker). */
  MCP_CALL_TIMEOUT_MS: positiveInt.max(3_600_000).default(30_000),
  /**
   * How long connecting to an upstream may take, each time it (re)connects: the longest wait for its
   * answer to initialize (a stdio server's start included) and to each page of its first tools/list.
   * Past it the server is down until the next try, and calls waiting for it fail; raise it for
   * servers slow to start (`npx -y` downloading first). A server's own `connectTimeoutMs` (its
   * registration's limits, same bounds) wins for that server.
   */
  MCP_CONNECT_TIMEOUT_MS: z.coerce
    .number(MCP_CONNECT_TIMEOUT_EXPECTED)
    .int(MCP_CONNECT_TIMEOUT_EXPECTED)
    .min(1000, MCP_CONNECT_TIMEOUT_EXPECTED)
    .max(300_000, MCP_CONNECT_TIMEOUT_EXPECTED)
    .default(10_000),
  /** Calls in flight per upstream; more wait in its queue. */
  MCP_MAX_CONCURRENT: positiveInt.max(10_000).default(16),
  /** MCP servers one tenant may register over the API (each is connected to and health-checked); the configuration's own are not counted against it. */
  MCP_MAX_SERVERS_PER_TENANT: positiveInt.max(100_000).default(100),
  /**
   * /mcp sessions one tenant, all its keys and JWT subjects together, may hold on one replica
   * (beyond it its least recently used ends); each identity holds at most 100 of them anyway.
   */
  MCP_MAX_SESSIONS_PER_TENANT: positiveInt.max(100_000).default(1000),
  /**
   * How long results of read-only idempotent tools are cached; 0 = never. No default here: unset
   * means 5 s, or off under MCP_PAYLOAD_POLICY=hash-only or encrypted (resultCacheTtlMs), so whether the operator set it is known.
   */
  MCP_CACHE_TTL_MS: z.coerce
    .number(MCP_CACHE_TTL_EXPECTED)
    .int(MCP_CACHE_TTL_EXPECTED)
    .min(0, MCP_CACHE_TTL_EXPECTED)
    .max(MCP_CACHE_TTL_MAX_MS, MCP_CACHE_TTL_EXPECTED)
    .optional(),
  /** Active health check of every upstream (a ping); 0 = off. */
  MCP_HEALTH_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(15_000),
  /** Tools per page of the gateway's tools/list (MCP clients follow nextCursor). */
  MCP_TOOLS_PAGE_SIZE: positiveInt.max(10_000).default(500),
  /** Browser origins that may call /mcp besides the gateway's own (docs/security.md); `*` = any, unsafe. */
  MCP_ALLOWED_ORIGINS: listOf(
    isOrigin,
    'comma-separated origins as browsers send them (scheme://host[:port], no path or trailing slash: https://app.example.com), or * for any origin (unsafe)',
  ).optional(),
  /** Host names /mcp answers to besides localhost and loopback addresses (DNS rebinding, docs/security.md); `*` = any. */
  MCP_ALLOWED_HOSTS: listOf(isHostName, 'comma-separated host names or IP addresses without port (mcp.example.com, 10.0.0.5), or * for any').optional(),
  /** The only hosts servers that tenants register may reach (docs/security.md); unset or `*` = any public host. */
  MCP_EGRESS_ALLOWED_HOSTS: listOf(isEgressHostPattern, 'comma-separated host names or IP addresses without port (mcp.example.com, 203.0.113.7), *.example.com for the subdomains of one, or * for any').optional(),
  /** Public networks that lead into the operator's own, refused to servers that tenants register as internal addresses are (docs/security.md). */
  MCP_EGRESS_DENIED_NETWORKS: listOf((e) => networkOf(e) !== undefined, 'comma-separated IP addresses or networks in CIDR notation (203.0.113.0/24, 2001:db8::/32)')
    .refine((v) => v.trim() !== '*', { message: 'IP addresses or networks in CIDR notation (203.0.113.0/24, 2001:db8::/32); * is none of them' })
    .optional(),

  JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  JWT_PUBLIC_KEY_FILE: z.string().optional(),
  JWT_JWKS_FILE: z.string().optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  /** Active API keys one tenant may hold (each is a rate limit and a set of /mcp sessions of its own); the bootstrap admin key is not counted. */
  MAX_API_KEYS_PER_TENANT: positiveInt.max(100_000).default(100),
  RATE_LIMIT_PER_KEY: positiveInt.default(600),
  RATE_LIMIT_PER_TENANT: positiveInt.default(3000),
  /** Failed authentications (401) per client address per minute before it gets 429; 0 = no limit. */
  RATE_LIMIT_AUTH_FAILURES: z.coerce.number().int().min(0).default(60),
  /** Proxies whose X-Forwarded-For names the client: `off`, a hop count, or addresses/CIDRs (docs/security.md). */
  TRUST_PROXY: z
    .string()
    .refine(isTrustProxy, 'off, a number of proxy hops, or a comma-separated list of proxy addresses or CIDRs (loopback, linklocal, uniquelocal too)')
    .default('off'),

  /** Heartbeat of the dashboard's live stream (/ui/api/stream): keeps proxies from closing it as idle, and re-checks its key (a revoked key stops hearing within one). */
  UI_HEARTBEAT_MS: positiveInt.min(1000).max(600_000).default(15_000),

  // Tracing is off unless an OTLP/HTTP collector is named (spans go to <endpoint>/v1/traces).
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http', 'https']).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('openmcp'),
});

export type Config = z.infer<typeof ConfigSchema> & {
  /** DATA_DIR resolved to an absolute path. */
  dataDir: string;
  /** DATABASE_URL, or the embedded SQLite file under DATA_DIR. */
  databaseUrl: string;
};

/** Keys of ConfigSchema: every environment variable the product reads. */
export const CONFIG_VARIABLES = Object.keys(ConfigSchema.shape) as (keyof typeof ConfigSchema.shape)[];

function readConfigFile(path: string): Record<string, string> {
  const parsed = readSettingsFile(path, 'OPENMCP_CONFIG');
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`OPENMCP_CONFIG ${path}: expected an object of settings`, { variable: 'OPENMCP_CONFIG' });
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/**
 * The settings of the file OPENMCP_CONFIG names (relative to `cwd`), each as text, or none when it is
 * unset; a file that cannot be read or is not an object throws a ConfigError naming OPENMCP_CONFIG.
 * For commands that read a few settings without the whole configuration (`openmcp verify`).
 * @example configFileSettings({ OPENMCP_CONFIG: 'openmcp.yaml' }).CHAIN_PORT === '18545'
 */
export function configFileSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Record<string, string> {
  return env.OPENMCP_CONFIG ? readConfigFile(resolve(cwd, env.OPENMCP_CONFIG)) : {};
}

/**
 * What a setting expects, from an issue's message: ours name it ("a URL (redis, rediss)"); zod's
 * own say it after a prefix ("Invalid option: expected one of …", "Too big: expected number to be
 * <=65535"), which after our "expected" read "expected Invalid option: expected one of …".
 */
function expectation(message: string): string {
  const expected = message.replace(/^(?:Invalid (?:input|option)|Too (?:big|small)): expected /, '');
  // zod's words for text where a number goes (coerced to NaN) and for a fraction where an integer does.
  if (expected === 'number, received NaN') return 'a number';
  if (expected === 'int, received number') return 'a whole number';
  return expected;
}

/**
 * Read the configuration. Empty strings count as unset. A bad value throws a ConfigError whose
 * message names the variable and what it expects, so start-up stops with a clear line.
 * @example loadConfig({ PORT: '9000' }).PORT === 9000
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const fromFile = configFileSettings(env, cwd);
  const raw: Record<string, unknown> = { ...fromFile };
  for (const key of CONFIG_VARIABLES) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const unknown = Object.keys(fromFile).filter((k) => !(CONFIG_VARIABLES as string[]).includes(k));
  if (unknown.length) throw new ConfigError(`OPENMCP_CONFIG: unknown setting ${unknown[0]}`, { variable: unknown[0] });
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue.path[0]);
    // A URL's user, password and key-like parts masked (a database's password, a chain provider's key).
    const value = String(raw[variable]);
    // And an @ the parse took for part of the path (`mysql://user:12/ab@host`: a password with a /), all
    // up to the last @ of one that does not parse (a space in the password, `mysql:/` with one slash).
    const masked = urlHoldsCredentials(value, { pathKeys: true }) ? redactUrl(value, { pathKeys: true }) : value.replace(/^([a-z][a-z0-9+.-]*:\/*)[^]*@/i, '$1***@');
    const shown = variable.match(/KEY|SECRET|PASSWORD/) ? '(hidden)' : JSON.stringify(masked);
    throw new ConfigError(`Invalid configuration: ${variable}=${shown}: expected ${expectation(issue.message)}`, { variable });
  }
  const c = parsed.data;
  if (c.ANCHOR_CONTRACT && !c.CHAIN_RPC_URL) {
    throw new ConfigError('Invalid configuration: ANCHOR_CONTRACT is set but CHAIN_RPC_URL is not', { variable: 'CHAIN_RPC_URL' });
  }
  // The embedded Hardhat node mines a block only for a transaction: once the anchorer's own is
  // mined nothing follows it, so a second confirmation would never come and no proof with it.
  if (!c.CHAIN_RPC_URL && c.CHAIN_CONFIRMATIONS > 1) {
    throw new ConfigError(
      `Invalid configuration: CHAIN_CONFIRMATIONS=${c.CHAIN_CONFIRMATIONS} needs CHAIN_RPC_URL: the embedded chain mines a block only for a transaction, so a batch's anchor would wait for ever for its second confirmation: set CHAIN_CONFIRMATIONS=1 (or unset it), or anchor on a node at CHAIN_RPC_URL`,
      { variable: 'CHAIN_CONFIRMATIONS' },
    );
  }
  if (c.CHAIN_ID !== undefined && !c.CHAIN_RPC_URL) {
    throw new ConfigError('Invalid configuration: CHAIN_ID is set but CHAIN_RPC_URL is not (the embedded chain is 31337)', { variable: 'CHAIN_RPC_URL' });
  }
  // Under `encrypted` a task's instruction is recorded sealed (erasable); LLM_REDACTION=store would
  // record it in clear all the same, in every InferenceCompleted's prompt, beyond erasure.
  if (c.MCP_PAYLOAD_POLICY === 'encrypted' && c.LLM_REDACTION === 'store' && c.OPENAI_BASE_URL) {
    throw new ConfigError(
      'Invalid configuration: MCP_PAYLOAD_POLICY=encrypted with LLM_REDACTION=store: tasks\' instructions are recorded sealed (erasable), but LLM_REDACTION=store would record them in clear in every model turn (InferenceCompleted), where erasure cannot reach; set LLM_REDACTION=hash-only (docs/security.md, "Erasure")',
      { variable: 'LLM_REDACTION' },
    );
  }
  // The files read and the combinations checked here, so a start stops on them (main builds the clients' options again).
  kafkaSecuritySettings(c);
  const dataDir = isAbsolute(c.DATA_DIR) ? c.DATA_DIR : resolve(cwd, c.DATA_DIR);
  return { ...c, dataDir, databaseUrl: c.DATABASE_URL ?? `sqlite:${resolve(dataDir, 'openmcp.db')}` };
}
