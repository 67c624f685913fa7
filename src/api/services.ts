import type { McpServerLimits } from '../../events/mcp.events';
import type { Actor } from '../core/envelope';
import type { Page } from '../readmodels/port';
import type { AuditEventViewOutput, ProofFileOutput } from './schemas/events';
import type { BatchEventsOutput, BatchViewOutput } from './schemas/batches';
import type { McpServerViewOutput, ToolHitOutput } from './schemas/mcp';

/**
 * What the REST API needs of the proofs context (src/proofs). `tenant: null` = a cross-tenant
 * caller. getProof throws OpenMcpError PROOF_PENDING (409, details.retryAfterSeconds) until the
 * event's batch is anchored, NOT_FOUND for an event outside the tenant or unknown.
 */
export interface ProofsService {
  getProof(tenant: string | null, eventId: string): Promise<ProofFileOutput>;
  /** Cursor: opaque, from a previous page; throw INVALID_CURSOR for a bad one. */
  listBatches(page: { limit: number; cursor?: string }): Promise<Page<BatchViewOutput>>;
  getBatch(id: number): Promise<BatchViewOutput | undefined>;
  /** Every event of the batch in seq order, enough to re-derive its root. */
  getBatchEvents(id: number): Promise<BatchEventsOutput | undefined>;
}

export type RegisterServerParameters = {
  tenant: string;
  actor: Actor;
  correlationId?: string;
  name: string;
  transport: 'stdio' | 'http' | 'sse';
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  url?: string;
  /** The server's own call timeout and calls in flight, over the gateway-wide settings. */
  limits?: McpServerLimits;
  /** Header templates for an http/sse upstream (`Bearer ${env:NAME}`), resolved from the gateway's environment. */
  headers?: Record<string, string>;
};

/** What the REST API needs of the MCP gateway (src/mcp). Unknown or foreign ids throw NOT_FOUND. */
export interface McpGatewayService {
  /**
   * `existed`: the tenant had a server of that name with this very definition, returned as it is
   * (nothing recorded, not reconnected); one of another definition throws MCP_SERVER_EXISTS.
   */
  registerServer(p: RegisterServerParameters): Promise<{ server: McpServerViewOutput; existed: boolean }>;
  /** `sharedDetails`: show a shared server's configuration (command, args, env, url, headers): a cross-tenant caller only. */
  listServers(tenant: string, options?: { sharedDetails?: boolean }): Promise<McpServerViewOutput[]>;
  /** `crossTenant`: the caller acts for every tenant (a cross-tenant admin), so a shared server (tenant `*`) is its to remove. */
  removeServer(tenant: string, id: string, actor: Actor, correlationId?: string, options?: { crossTenant?: boolean }): Promise<void>;
  searchTools(tenant: string, q: string, k: number): Promise<ToolHitOutput[]>;
  /**
   * The tool the tenant's catalog serves by `name` (what /mcp lists: `<server>__<tool>`, or its
   * alias for a name LLM hosts do not take), as its server's name and the upstream's own tool name;
   * undefined for a name it does not serve now.
   */
  servedTool?(tenant: string, name: string): { server: string; tool: string } | undefined;
}

export type DecideApprovalParameters = {
  tenant: string;
  actor: Actor;
  correlationId?: string;
  taskId: string;
  proposalHash: string;
  decision: 'approve' | 'reject';
  comment?: string;
};

/** Human approval of an agent's proposed action (issue 7). */
export interface ApprovalsService {
  decide(p: DecideApprovalParameters): Promise<{ taskId: string; proposalHash: string; decision: 'approve' | 'reject' } & Record<string, unknown>>;
}

export type { ReadinessCheck } from '../telemetry/readiness-check';

export type { AuditEventViewOutput };
