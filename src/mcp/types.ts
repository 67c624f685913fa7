import type { McpServerLimits, McpToolIcon } from '../../events/mcp.events';
import type { Actor } from '../core/envelope';

export type UpstreamTransportKind = 'stdio' | 'http' | 'sse';

/** Tenant whose servers every tenant sees (the bundled examples, servers from MCP_SERVERS_FILE without a tenant). */
export const SHARED_TENANT = '*';

/** What it takes to reach an upstream. */
export type UpstreamSpec = {
  id: string;
  tenant: string;
  name: string;
  transport: UpstreamTransportKind;
  command?: string;
  args?: string[];
  /**
   * A stdio upstream's environment: name → template referring to the gateway's environment
   * (`${env:GITHUB_TOKEN}`), recorded as such (McpServerRegistered v3) and resolved from the
   * environment of the process that starts it, each time; or name → literal value, never
   * recorded (only its name): it stays in the memory of the process that registered the server.
   */
  env?: Record<string, string>;
  cwd?: string;
  url?: string;
  /**
   * Headers for an http or sse upstream: name → template referring to the gateway's environment
   * (`Bearer ${env:NOTION_TOKEN}`). Recorded as such in the log (McpServerRegistered v3); the
   * values are read from the environment of the process that connects, each time it connects.
   */
  headers?: Record<string, string>;
  /**
   * This upstream's own call timeout and concurrency, over the gateway-wide MCP_* settings.
   * Recorded in the log (McpServerRegistered v2), so every replica applies them.
   */
  limits?: McpServerLimits;
  /**
   * `public`: connect at public addresses only, checked where the URL's host resolves before each
   * request and for each connection, which goes to the checked addresses only (public-only-fetch.ts).
   * Set for servers a tenant's admin or operator registered; recorded
   * (McpServerRegistered v4), so every replica and restart keeps to it.
   */
  egress?: 'public';
};

/** A registration request: the upstream's spec (the gateway assigns the id) plus who asked. */
export type RegisterServerParameters = Omit<UpstreamSpec, 'id'> & { actor: Actor; correlationId?: string };

/** Who is calling, for audit and tenant visibility. `taskId` is recorded in the call's events. */
export type CallContext = {
  tenant: string;
  actor: Actor;
  correlationId?: string;
  taskId?: string;
  /**
   * Whose data the call's payloads are, when not the actor's (MCP_PAYLOAD_POLICY=encrypted seals them
   * under this subject's key, `<tenant>:<kind>:<id>`): the agent runtime calls as its worker on behalf
   * of the task's submitter, so that erasing the submitter erases their tasks' calls too.
   */
  subject?: Actor;
  /**
   * The caller's own policy for the arguments: `hash-only` keeps them out of ToolCallRequested
   * (only `argumentsHash`) even when the gateway's MCP_PAYLOAD_POLICY stores payloads. The agent
   * runtime sets it for arguments a model wrote under LLM_REDACTION=hash-only.
   */
  argumentsPolicy?: 'store' | 'hash-only';
  /**
   * The salts to seal the call's payloads with under MCP_PAYLOAD_POLICY=encrypted (32 bytes each;
   * a fresh random one when absent; `error`: that of a withheld error message's digest): the agent
   * runtime gives them, so that its step events keep the same salted hashes as the call's events,
   * erased with the same key.
   */
  payloadSalts?: { arguments?: Buffer; result?: Buffer; error?: Buffer };
  /**
   * With `taskId`: the agent runtime's step the call is made for (its TaskStepStarted's `stepId`),
   * recorded in ToolCallRequested v5 so that the task's view joins the step to this call.
   */
  stepId?: string;
};

export type ToolAnnotations = {
  readOnlyHint?: boolean;
  idempotentHint?: boolean;
  destructiveHint?: boolean;
  openWorldHint?: boolean;
};

/** One tool as the catalog serves it: namespaced name, upstream name, schemas and annotations kept. */
export type CatalogTool = {
  /**
   * What clients call: `<server>__<tool>` when LLM hosts accept it (HOST_SAFE_TOOL_NAME), else
   * its alias (aliasToolName), unique among the tenant's tools.
   */
  name: string;
  /**
   * `<server>__<tool>` with the upstream's exact tool name: equals `name` unless that is an
   * alias. Calls by this name are accepted too; agent policy rules match it.
   */
  namespacedName: string;
  serverId: string;
  server: string;
  upstreamName: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations: ToolAnnotations;
  /** The upstream's icons for the tool (those the log could hold). */
  icons?: McpToolIcon[];
  /** The upstream's `_meta` for the tool, passed on as it is. */
  meta?: Record<string, unknown>;
};

export type ServerHealth = 'unknown' | 'up' | 'down';

export type ServerInfo = {
  id: string;
  tenant: string;
  name: string;
  transport: UpstreamTransportKind;
  command?: string;
  args?: string[];
  /** Every variable given to a stdio server's process (by reference or as a value), names only. */
  envKeys?: string[];
  /** Those given by reference: templates (`${env:NAME}`), never values. */
  env?: Record<string, string>;
  url?: string;
  /** Header templates (`Bearer ${env:NAME}`): which variables, never their values. */
  headers?: Record<string, string>;
  /** The server's own limits, when its registration set any (else the gateway-wide settings apply). */
  limits?: McpServerLimits;
  /** `public`: registered by a tenant's admin or operator, so reached at public addresses only (UpstreamSpec.egress). */
  egress?: 'public';
  health: ServerHealth;
  /** Why it is down: the recorded reason, or, under MCP_PAYLOAD_POLICY=hash-only, the gateway's classification in words (healthReasonOf). */
  healthReason?: string;
  toolCount: number;
  registeredAt: string;
};
