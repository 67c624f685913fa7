import { z } from 'zod';
import { defineEvent, type Upcaster } from './catalog';
import { digest } from './digest-fields';
import { CONNECT_TIMEOUT_BOUNDS } from './mcp-bounds';

const safeInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const name = z.string().min(1).max(200);

/** The most a discovered tool record and one discovery may hold (characters; tools per server). */
export const MCP_TOOL_LIMITS = {
  name: 200,
  title: 500,
  description: 20_000,
  schemaJson: 200_000,
  tools: 5_000,
  /** Icons per tool, and the length of one's `src` (a URL, or a data: URI of a small image). */
  icons: 8,
  iconSrc: 8_192,
  /** The tool's `_meta`, as canonical JSON text. */
  metaJson: 20_000,
} as const;

const toolRecordV1 = {
  name: z.string().min(1).max(MCP_TOOL_LIMITS.name),
  title: z.string().max(MCP_TOOL_LIMITS.title).optional(),
  description: z.string().max(MCP_TOOL_LIMITS.description).optional(),
  /** JSON Schema of the arguments, as canonical JSON text (schemas may hold floats). */
  inputSchemaJson: z.string().max(MCP_TOOL_LIMITS.schemaJson),
  outputSchemaJson: z.string().max(MCP_TOOL_LIMITS.schemaJson).optional(),
  readOnlyHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
};

/** What a discovered upstream tool looks like in the log: schemas kept as canonical JSON text (no floats in data). */
export const McpToolRecordSchema = z.strictObject(toolRecordV1);

/** An icon of a tool (MCP 2025-11-25 `Icon`): an http(s) URL or a data: URI of an image. */
export const McpToolIconSchema = z.strictObject({
  src: z.string().max(MCP_TOOL_LIMITS.iconSrc).regex(/^(?:https?:\/\/|data:image\/)/i, 'an http(s) URL or a data:image/ URI'),
  mimeType: z.string().min(1).max(200).optional(),
  sizes: z.array(z.string().min(1).max(50)).max(20).optional(),
  theme: z.enum(['light', 'dark']).optional(),
});

/** v2 of the record (McpServerToolsDiscovered v2): v1 plus the tool's `icons` and `_meta` (as canonical JSON text). */
export const McpToolRecordV2Schema = z.strictObject({
  ...toolRecordV1,
  icons: z.array(McpToolIconSchema).min(1).max(MCP_TOOL_LIMITS.icons).optional(),
  metaJson: z.string().max(MCP_TOOL_LIMITS.metaJson).optional(),
});
export type McpToolRecord = z.infer<typeof McpToolRecordV2Schema>;
export type McpToolIcon = z.infer<typeof McpToolIconSchema>;

/**
 * The tools of a discovery, the first of each name only. The gateway records no duplicates, but
 * the schema cannot say so and the log is forever: readers (the catalog, the projection, whose
 * table is keyed by name) take each name once, the same one.
 */
export function uniqueTools<T extends { name: string }>(tools: T[]): T[] {
  const seen = new Set<string>();
  return tools.filter((t) => !seen.has(t.name) && Boolean(seen.add(t.name)));
}

const registeredV1 = {
  name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/),
  transport: z.enum(['stdio', 'http', 'sse']),
  command: z.string().min(1).max(2000).optional(),
  args: z.array(z.string().max(4000)).max(100).optional(),
  /** Names only: values (often secrets) never enter the immutable log. */
  envKeys: z.array(z.string().max(200)).max(100).optional(),
  /** Credentials in the URL are redacted. */
  url: z.string().max(2000).optional(),
};

export const McpServerRegistered = defineEvent(
  'McpServerRegistered',
  1,
  z.strictObject(registeredV1),
  'An upstream MCP server was registered for a tenant ("*" = visible to every tenant).',
);

/**
 * The limits of McpServerRegistered v2 to v4 and McpServerReconfigured v1: an upstream's own call
 * timeout and calls in flight, over the gateway-wide MCP_CALL_TIMEOUT_MS and MCP_MAX_CONCURRENT.
 * Closed and published: a new limit goes into a new version (McpServerLimitsV5Schema), never here.
 */
const limitFieldsV2 = {
  /** Call timeout, ms. */
  timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
  /** Calls in flight; more wait in the upstream's queue. */
  maxConcurrent: z.number().int().min(1).max(10_000).optional(),
};
export const McpServerLimitsSchema = z
  .strictObject(limitFieldsV2)
  .refine((l) => l.timeoutMs !== undefined || l.maxConcurrent !== undefined, 'set timeoutMs, maxConcurrent or both')
  .meta({ minProperties: 1 });

/** The bounds of a connect timeout (ms), in a module without zod: the CLI's parser checks --connect-timeout-ms with them. */
export { CONNECT_TIMEOUT_BOUNDS };
const CONNECT_TIMEOUT_EXPECTED = 'milliseconds, a whole number from 1000 (1 s) to 300000 (5 min), as MCP_CONNECT_TIMEOUT_MS';

/**
 * An upstream's own limits, over the gateway-wide MCP_CALL_TIMEOUT_MS, MCP_CONNECT_TIMEOUT_MS and
 * MCP_MAX_CONCURRENT: the fields as the log (McpServerRegistered v5, McpServerReconfigured v2), REST
 * (`POST /v1/mcp-servers`) and MCP_SERVERS_FILE all take them.
 */
export const mcpServerLimitFields = {
  timeoutMs: limitFieldsV2.timeoutMs,
  /** Connect timeout (a stdio server's start, initialize, the first tools/list), ms. */
  connectTimeoutMs: z
    .number(CONNECT_TIMEOUT_EXPECTED)
    .int(CONNECT_TIMEOUT_EXPECTED)
    .min(CONNECT_TIMEOUT_BOUNDS.min, CONNECT_TIMEOUT_EXPECTED)
    .max(CONNECT_TIMEOUT_BOUNDS.max, CONNECT_TIMEOUT_EXPECTED)
    .optional(),
  maxConcurrent: limitFieldsV2.maxConcurrent,
};
export const McpServerLimitsV5Schema = z
  .strictObject(mcpServerLimitFields)
  .refine((l) => l.timeoutMs !== undefined || l.connectTimeoutMs !== undefined || l.maxConcurrent !== undefined, 'set timeoutMs, connectTimeoutMs, maxConcurrent or more of them')
  .meta({ minProperties: 1 });
/** A server's own limits, as the latest versions record them (the older ones' are the same without connectTimeoutMs). */
export type McpServerLimits = z.infer<typeof McpServerLimitsV5Schema>;

/** The limits set among `l` (absent ones left out), or undefined when it sets none. */
export function limitsOf(l: { timeoutMs?: number; connectTimeoutMs?: number; maxConcurrent?: number }): McpServerLimits | undefined {
  const out: McpServerLimits = {};
  if (l.timeoutMs !== undefined) out.timeoutMs = l.timeoutMs;
  if (l.connectTimeoutMs !== undefined) out.connectTimeoutMs = l.connectTimeoutMs;
  if (l.maxConcurrent !== undefined) out.maxConcurrent = l.maxConcurrent;
  return Object.keys(out).length ? out : undefined;
}

export const McpServerRegisteredV2 = defineEvent(
  'McpServerRegistered',
  2,
  z.strictObject({ ...registeredV1, limits: McpServerLimitsSchema.optional() }),
  'An upstream MCP server was registered for a tenant ("*" = visible to every tenant). v2 adds `limits`, ' +
    "the server's own call timeout and concurrency; v2 is written only for a registration that sets them, " +
    'v1 otherwise, and a v1 event reads as v2 without `limits`.',
);

/** RFC 9110 token: what a header field name may be made of. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

/**
 * A header value template: printable text with at least one `${env:NAME}`, and no other `${`
 * (so a typo such as `${ENV:X}` or `${X}` is refused rather than sent as text). One regular
 * expression, so the event's JSON Schema carries the same rule.
 */
export const HEADER_TEMPLATE = /^(?:[^$\x00-\x1f\x7f]|\$(?!\{))*\$\{env:[A-Za-z_][A-Za-z0-9_]{0,199}\}(?:[^$\x00-\x1f\x7f]|\$(?!\{)|\$\{env:[A-Za-z_][A-Za-z0-9_]{0,199}\})*$/;

/**
 * Headers sent to an HTTP or SSE upstream: name → value template. A template refers to the
 * gateway's environment (`Bearer ${env:NOTION_TOKEN}`) and must refer to it at least once, so the
 * log holds which variable, never its value.
 */
export const McpServerHeadersSchema = z
  .record(z.string().regex(HEADER_NAME), z.string().max(2000).regex(HEADER_TEMPLATE, 'a template with at least one ${env:NAME}'))
  .refine((h) => Object.keys(h).length >= 1 && Object.keys(h).length <= 20, '1 to 20 headers')
  .meta({ minProperties: 1, maxProperties: 20 });

/** A stdio server's environment variable name (POSIX style), as REST takes it. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,199}$/;

/** An env value template: the same rule as a header's (at least one `${env:NAME}`, no other `${`). */
export const ENV_TEMPLATE = HEADER_TEMPLATE;

/**
 * The environment of a stdio upstream's process given by reference: name → template referring to
 * the gateway's environment (`${env:GITHUB_TOKEN}`), so every replica and restart can start the
 * process with it while the log holds which variable, never its value. Values given as such
 * (literals) are not here: only their names are recorded (`envKeys`), the values stay in the
 * memory of the process that registered the server.
 */
export const McpServerEnvSchema = z
  .record(z.string().regex(ENV_NAME), z.string().max(8000).regex(ENV_TEMPLATE, 'a template with at least one ${env:NAME}'))
  .refine((e) => Object.keys(e).length >= 1 && Object.keys(e).length <= 100, '1 to 100 variables')
  .meta({ minProperties: 1, maxProperties: 100 });

export const McpServerRegisteredV3 = defineEvent(
  'McpServerRegistered',
  3,
  z.strictObject({ ...registeredV1, limits: McpServerLimitsSchema.optional(), headers: McpServerHeadersSchema.optional(), env: McpServerEnvSchema.optional() }),
  'An upstream MCP server was registered for a tenant ("*" = visible to every tenant). v3 adds `headers`, ' +
    'the headers sent to an http or sse upstream, and `env`, the environment variables of a stdio ' +
    'upstream\'s process given by reference, both as templates that refer to the gateway\'s environment ' +
    '(`Bearer ${env:NAME}`: the variable\'s name, never its value); `envKeys` still names every variable ' +
    'given to the process, those in `env` and those whose value was given as such and kept out of the log. ' +
    'v3 is written only for a registration that sets headers or env by reference, v2 or v1 otherwise, ' +
    'and a v2 event reads as v3 without `headers` and `env`.',
);

export const McpServerRegisteredV4 = defineEvent(
  'McpServerRegistered',
  4,
  z.strictObject({
    ...registeredV1,
    limits: McpServerLimitsSchema.optional(),
    headers: McpServerHeadersSchema.optional(),
    env: McpServerEnvSchema.optional(),
    egress: z.literal('public').optional(),
  }),
  'An upstream MCP server was registered for a tenant ("*" = visible to every tenant). v4 adds `egress: "public"`: ' +
    'the server was registered by a principal who may not reach the gateway\'s internal networks (a tenant\'s admin ' +
    'or operator), so every process connects to it at public addresses only, checking where its name resolves at ' +
    'each connection (a name pointed at 127.0.0.1 or 169.254.169.254 after its registration is refused). v4 is ' +
    'written only for such a registration, v3, v2 or v1 otherwise, and a v3 event reads as v4 without `egress` ' +
    '(any address, as before).',
);

export const McpServerRegisteredV5 = defineEvent(
  'McpServerRegistered',
  5,
  z.strictObject({
    ...registeredV1,
    limits: McpServerLimitsV5Schema.optional(),
    headers: McpServerHeadersSchema.optional(),
    env: McpServerEnvSchema.optional(),
    egress: z.literal('public').optional(),
  }),
  'An upstream MCP server was registered for a tenant ("*" = visible to every tenant). v5 adds `connectTimeoutMs` to ' +
    "`limits`: the server's own connect timeout (its process's start, initialize and its first tools/list), 1000 to 300000 ms, " +
    'over the gateway-wide MCP_CONNECT_TIMEOUT_MS; absent, the gateway\'s setting applies. v5 is written only for a ' +
    'registration that sets it, v4, v3, v2 or v1 otherwise, and a v4 event reads as v5 without it.',
);

/**
 * `urlTemplate` of McpServerRegistered v6 and McpServerReconfigured v3: an http or sse upstream's
 * URL whose path or query refers to the gateway's environment
 * (`https://mcp.example.com/mcp?api_key=${env:EXAMPLE_KEY}`), as written: the variable's name,
 * never its value. Printable, at least one `${env:NAME}` and no other `${` (a header template's rule).
 */
export const McpServerUrlTemplateSchema = z.string().max(2000).regex(HEADER_TEMPLATE, 'a URL with at least one ${env:NAME}');

export const McpServerRegisteredV6 = defineEvent(
  'McpServerRegistered',
  6,
  z.strictObject({ ...McpServerRegisteredV5.schema.shape, urlTemplate: McpServerUrlTemplateSchema.optional() }),
  'An upstream MCP server was registered for a tenant ("*" = visible to every tenant). v6 adds `urlTemplate`: the URL of ' +
    "an http or sse server whose path or query refers to the gateway's environment, as written " +
    "(`https://mcp.example.com/mcp?api_key=${env:NAME}`: the variable's name, never its value); each process puts its own " +
    "variable's value in it when it connects. `url` then holds the same URL with each reference masked (`?api_key=***`), as " +
    'it holds any URL with its credentials masked. v6 is written only for such a URL, v5 to v1 otherwise, and a v5 event ' +
    'reads as v6 without `urlTemplate` (its `url` is the URL, credentials masked).',
);

/** The settings of a server a reconfiguration may change, as McpServerReconfigured `changed` names them. */
export const MCP_SERVER_SETTINGS = ['transport', 'command', 'args', 'env', 'url', 'limits', 'headers'] as const;
export type McpServerSetting = (typeof MCP_SERVER_SETTINGS)[number];

export const McpServerReconfigured = defineEvent(
  'McpServerReconfigured',
  1,
  z.strictObject({
    ...registeredV1,
    limits: McpServerLimitsSchema.optional(),
    headers: McpServerHeadersSchema.optional(),
    env: McpServerEnvSchema.optional(),
    changed: z.array(z.enum(MCP_SERVER_SETTINGS)).min(1).max(MCP_SERVER_SETTINGS.length),
  }),
  'A registered upstream MCP server now has other settings: the configuration that registers it at every start ' +
    '(an MCP_SERVERS_FILE entry, the bundled `examples` of a release installed elsewhere) changed. It keeps its id, ' +
    'its name and its tools; the gateway connects to it again with these settings and lists its tools again. `data` ' +
    'holds every setting as McpServerRegistered v3 does (`transport`, `command`, `args`, `envKeys`, `url`, `limits`, ' +
    '`headers`, `env`: the same redaction, names and `${env:NAME}` templates, never a value), replacing those of the ' +
    'registration or of the previous McpServerReconfigured whole (a setting absent here is no longer set), and `changed` ' +
    'names the settings that differ from those.',
);

export const McpServerReconfiguredV2 = defineEvent(
  'McpServerReconfigured',
  2,
  z.strictObject({
    ...registeredV1,
    limits: McpServerLimitsV5Schema.optional(),
    headers: McpServerHeadersSchema.optional(),
    env: McpServerEnvSchema.optional(),
    changed: z.array(z.enum(MCP_SERVER_SETTINGS)).min(1).max(MCP_SERVER_SETTINGS.length),
  }),
  'A registered upstream MCP server now has other settings, as in v1 (every setting, replacing the previous ones whole, ' +
    'and `changed`). v2 adds `connectTimeoutMs` to `limits`, as McpServerRegistered v5 does: the server\'s own connect ' +
    'timeout, 1000 to 300000 ms; absent, the gateway\'s MCP_CONNECT_TIMEOUT_MS applies. v2 is written only for settings ' +
    'that set it, v1 otherwise, and a v1 event reads as v2 without it.',
);

export const McpServerReconfiguredV3 = defineEvent(
  'McpServerReconfigured',
  3,
  z.strictObject({ ...McpServerReconfiguredV2.schema.shape, urlTemplate: McpServerUrlTemplateSchema.optional() }),
  'A registered upstream MCP server now has other settings, as in v2 (every setting, replacing the previous ones whole, ' +
    'and `changed`). v3 adds `urlTemplate`, as McpServerRegistered v6 does: a URL that refers to the gateway\'s environment, ' +
    "as written (the variable's name, never its value), `url` holding it masked. v3 is written only for such a URL, v2 or " +
    'v1 otherwise, and a v2 event reads as v3 without `urlTemplate`.',
);

export const McpServerToolsDiscovered = defineEvent(
  'McpServerToolsDiscovered',
  1,
  z.strictObject({ tools: z.array(McpToolRecordSchema).max(MCP_TOOL_LIMITS.tools), toolsHash: digest.toolsHash }),
  'The gateway listed the upstream tools; the catalog now holds exactly these.',
);

export const McpServerToolsDiscoveredV2 = defineEvent(
  'McpServerToolsDiscovered',
  2,
  z.strictObject({ tools: z.array(McpToolRecordV2Schema).max(MCP_TOOL_LIMITS.tools), toolsHash: digest.toolsHash }),
  'The gateway listed the upstream tools; the catalog now holds exactly these. v2 adds to a tool ' +
    'its `icons` (http(s) or data:image/ URIs) and `metaJson` (its `_meta`, as canonical JSON text); ' +
    'v2 is written only for a discovery where a tool has either, v1 otherwise, and a v1 event reads as v2 without them.',
);

/** Who records a health change, and when one is set right (docs/operations.md, "Health across replicas"). */
const HEALTH_ACTOR_NOTE =
  'Recorded by a gateway replica when its own view changes; the actor (kind `system`) names that replica ' +
  '(`mcp-gateway:<host>:<pid>:<random>`; `mcp-gateway` in events of earlier releases). An `up` is also recorded by a ' +
  'replica that reaches the server while the log says `down` from a replica that is gone (its presence in the cache expired).';

export const McpServerHealthChanged = defineEvent(
  'McpServerHealthChanged',
  1,
  z.strictObject({
    status: z.enum(['up', 'down']),
    reason: z.string().max(2000).optional(),
  }),
  'A health check or a call found the upstream reachable again, or not. ' + HEALTH_ACTOR_NOTE,
);

/**
 * Why an upstream is down, as the gateway itself found it (McpServerHealthChanged v2 `cause`):
 * a kind and the numbers or codes that came from the operating system, the HTTP status line or
 * the JSON-RPC error's code, never text the upstream wrote (its stderr, its error messages, its
 * response bodies), which may hold its secrets and has no place in a log that cannot be edited.
 */
export const MCP_HEALTH_CAUSE_KINDS = [
  /** The circuit breaker opened after repeated failed calls. */
  'circuit-open',
  /** No answer within `timeoutMs` (connect, initialize, tools/list or ping). */
  'timeout',
  /** The stdio server's process ended: `exitCode`, or `signal` when a signal ended it. */
  'exited',
  /** The stdio server's process could not be started (`errno`: ENOENT, EACCES…). */
  'spawn-failed',
  /** The connection closed, with no exit of a process to say why. */
  'connection-closed',
  /** The URL could not be reached (`errno`: ECONNREFUSED, ENOTFOUND, a certificate's code…). */
  'unreachable',
  /** The upstream answered with HTTP status `httpStatus`. */
  'http-status',
  /** The upstream answered a JSON-RPC error with code `rpcCode`. */
  'protocol-error',
  /** A header, env or URL template refers to `variable`, which is not set (or empty) on this gateway. */
  'variable-unset',
  /** `variable` holds a character the header, the process environment or the URL cannot carry (as it is). */
  'variable-unusable',
  /** None of the above: only the digest says which failure it was. */
  'other',
] as const;

export const McpHealthCauseSchema = z.strictObject({
  kind: z.enum(MCP_HEALTH_CAUSE_KINDS),
  exitCode: z.number().int().min(0).max(4_294_967_295).optional(),
  signal: z.string().regex(/^SIG[A-Z0-9]{1,16}$/).optional(),
  /** A Node.js or system error code. */
  errno: z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/).optional(),
  httpStatus: z.number().int().min(100).max(599).optional(),
  rpcCode: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
  timeoutMs: safeInt.optional(),
  variable: z.string().regex(ENV_NAME).optional(),
});
export type McpHealthCause = z.infer<typeof McpHealthCauseSchema>;

export const McpServerHealthChangedV2 = defineEvent(
  'McpServerHealthChanged',
  2,
  z
    .strictObject({
      status: z.enum(['up', 'down']),
      reason: z.string().max(2000).optional(),
      cause: McpHealthCauseSchema.optional(),
      /** SHA-256 of the canonical JSON of the whole reason kept out (the string, as the gateway's own log has it). */
      reasonHash: digest.reasonHash.optional(),
    })
    .refine((d) => d.reason === undefined || (d.cause === undefined && d.reasonHash === undefined), 'reason, or cause and reasonHash: not both')
    .meta({ not: { anyOf: [{ required: ['reason', 'cause'] }, { required: ['reason', 'reasonHash'] }] } }),
  'A health check or a call found the upstream reachable again, or not. v2 adds `cause` and `reasonHash` in place ' +
    "of `reason`, for an upstream found down under MCP_PAYLOAD_POLICY=hash-only: `reason` may quote the upstream's own " +
    'text (its stderr, its error messages), so the gateway records instead what it found itself, `cause` {kind, exitCode?, ' +
    'signal?, errno?, httpStatus?, rpcCode?, timeoutMs?, variable?}, and `reasonHash`, the SHA-256 of the reason it kept out ' +
    "(the gateway's own log has it, with the same digest). v2 is written only for such a change, v1 otherwise, and a v1 " +
    'event reads as v2 as it is (with `reason`). ' +
    HEALTH_ACTOR_NOTE,
);

export const McpServerRemoved = defineEvent(
  'McpServerRemoved',
  1,
  z.strictObject({ name }),
  'The upstream was removed; its tools left the catalog.',
);

const ToolCallRef = {
  serverId: z.string().min(1).max(200),
  server: name,
  tool: name,
  taskId: z.string().min(1).max(200).optional(),
};

export const ToolCallRequested = defineEvent(
  'ToolCallRequested',
  1,
  z.strictObject({
    ...ToolCallRef,
    argumentsHash: digest.argumentsHash,
    /** Canonical JSON of the arguments, present when the payload policy is `store` (and the caller did not ask for them to be left out: arguments a model wrote under LLM_REDACTION=hash-only). */
    argumentsJson: z.string().max(1_000_000).optional(),
    payloadPolicy: z.enum(['store', 'hash-only']),
  }),
  'A tools/call is about to be forwarded upstream. Appended before forwarding; no event, no call.',
);

export const ToolCallCompleted = defineEvent(
  'ToolCallCompleted',
  1,
  z.strictObject({
    ...ToolCallRef,
    resultHash: digest.resultHash,
    resultJson: z.string().max(1_000_000).optional(),
    /** The upstream answered with `isError: true` (a tool-level error, passed through). */
    isError: z.boolean(),
    cached: z.boolean(),
    latencyUs: safeInt,
  }),
  'The upstream answered the call (possibly with a tool-level error result).',
);

export const ToolCallFailed = defineEvent(
  'ToolCallFailed',
  1,
  z.strictObject({
    ...ToolCallRef,
    error: z.strictObject({ code: z.string().min(1).max(100), message: z.string().max(4000) }),
    latencyUs: safeInt,
  }),
  'The call got no answer: protocol error from upstream, timeout, open circuit, a lost connection, or the client cancelled it (MCP_CALL_CANCELLED).',
);

export const mcpEvents = [
  McpServerRegistered,
  McpServerRegisteredV2,
  McpServerRegisteredV3,
  McpServerRegisteredV4,
  McpServerRegisteredV5,
  McpServerRegisteredV6,
  McpServerReconfigured,
  McpServerReconfiguredV2,
  McpServerReconfiguredV3,
  McpServerToolsDiscovered,
  McpServerToolsDiscoveredV2,
  McpServerHealthChanged,
  McpServerHealthChangedV2,
  McpServerRemoved,
  ToolCallRequested,
  ToolCallCompleted,
  ToolCallFailed,
];

/**
 * McpServerRegistered v1 → v2: a registration without limits (the gateway-wide settings apply);
 * v2 → v3: without headers and env templates; v3 → v4: without egress (any address); v4 → v5: limits
 * without connectTimeoutMs (the gateway's MCP_CONNECT_TIMEOUT_MS applies); v5 → v6: without urlTemplate (`url` as it is).
 * McpServerReconfigured v1 → v2 → v3: the same. McpServerToolsDiscovered v1 → v2: tools without icons or _meta.
 * McpServerHealthChanged v1 → v2: its `reason`, no `cause`.
 */
export const mcpUpcasters: Upcaster[] = [
  { type: 'McpServerRegistered', fromVersion: 1, upcast: (data) => data },
  { type: 'McpServerRegistered', fromVersion: 2, upcast: (data) => data },
  { type: 'McpServerRegistered', fromVersion: 3, upcast: (data) => data },
  { type: 'McpServerRegistered', fromVersion: 4, upcast: (data) => data },
  { type: 'McpServerRegistered', fromVersion: 5, upcast: (data) => data },
  { type: 'McpServerReconfigured', fromVersion: 1, upcast: (data) => data },
  { type: 'McpServerReconfigured', fromVersion: 2, upcast: (data) => data },
  { type: 'McpServerToolsDiscovered', fromVersion: 1, upcast: (data) => data },
  { type: 'McpServerHealthChanged', fromVersion: 1, upcast: (data) => data },
];
