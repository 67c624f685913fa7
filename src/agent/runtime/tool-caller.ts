import type { Actor } from '../../core/envelope';
import type { PayloadPolicy } from '../../mcp/audit';

/**
 * Who calls, for the gateway's audit (ToolCall* events carry taskId and correlationId).
 * `argumentsPolicy: 'hash-only'` keeps the arguments out of the gateway's ToolCallRequested whatever
 * its MCP_PAYLOAD_POLICY (arguments a model wrote under LLM_REDACTION=hash-only). `subject`: whose
 * data the payloads are (the task's submitter), when not the actor's (MCP_PAYLOAD_POLICY=encrypted).
 */
export type ToolCallContext = {
  tenant: string;
  actor: Actor;
  subject?: Actor;
  correlationId?: string;
  taskId?: string;
  argumentsPolicy?: PayloadPolicy;
  /** MCP_PAYLOAD_POLICY=encrypted: the salts the gateway seals the payloads with, so the step's events keep the same salted hashes. */
  payloadSalts?: { arguments?: Buffer; result?: Buffer; error?: Buffer };
  /** The step the call is made for (its TaskStepStarted's `stepId`): the gateway records it (ToolCallRequested v5). */
  stepId?: string;
};

export type ToolResult = { content?: unknown[]; structuredContent?: unknown; isError?: boolean };

export type ToolInfo = {
  /** The name the model is shown and calls: host-safe (the gateway aliases names LLM hosts refuse). */
  name: string;
  /**
   * `<server>__<tool>` with the upstream's exact tool name, when it differs from `name`: the name
   * steps record and policy rules match, so a rule keeps applying whichever name is called.
   */
  namespacedName?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: { readOnlyHint?: boolean; idempotentHint?: boolean };
};

/**
 * The narrow view of the MCP gateway the runtime needs. McpGateway (src/mcp/gateway.ts)
 * satisfies it as is: callTool audits every call, searchTools picks tools for an instruction,
 * listTools gives annotations (read-only + idempotent tools may be re-run after a crash).
 */
export interface ToolCaller {
  /**
   * Aborting `options.signal` (the task was cancelled, the step timed out) cancels the call upstream.
   * `options.decidedAs`: the `<server>__<tool>` name the policy decided on; a name that resolves to
   * a tool of another name is refused (MCP_TOOL_NOT_FOUND), not called.
   */
  callTool(ctx: ToolCallContext, name: string, args: Record<string, unknown>, options?: { signal?: AbortSignal; decidedAs?: string }): Promise<ToolResult>;
  searchTools?(tenant: string, q: string, k: number): Promise<{ tool: ToolInfo; score: number }[]>;
  listTools?(tenant: string): ToolInfo[];
  /**
   * While servers new to the catalog register at start (McpGateway.holdListing): settles once they
   * have, when their tools are in the catalog; undefined when none is registering. A step naming a
   * tool not in the catalog, and a natural-language task's choice of tools, wait for it.
   */
  newcomersRegistering?(): Promise<void> | undefined;
  /**
   * What the gateway's audit keeps of tool payloads (MCP_PAYLOAD_POLICY; absent = `store`). The
   * runtime's step events follow it, so `hash-only` keeps payloads out of the task's stream too.
   */
  readonly payloadPolicy?: PayloadPolicy;
  /**
   * MCP_PAYLOAD_POLICY=encrypted: whether the call given `payloadSalts.error` = `salt` failed with
   * its withheld message's digest keyed by it and the salt sealed (ToolCallFailed v2). Absent or
   * false: the step's TaskStepFailed keeps no digest (none could be checked).
   */
  errorDigestSealed?(salt: Buffer): boolean;
}
