import type { Principal } from '../auth/principal';
import { can, type Permission } from '../auth/roles';
import type { RecordedEvent } from '../core/envelope';

/**
 * What the live stream tells a browser about a new event: enough to know what to refetch, no
 * payload. The browser reads details over the REST API, which applies the caller's permissions.
 */
export type EventNotice = {
  position: number;
  id: string;
  type: string;
  stream: string;
  tenant: string;
  occurredAt: string;
  /** The task it belongs to: its own stream `task-<id>`, or `data.taskId` of a tool call. */
  taskId?: string;
  /** ToolCallCompleted with `isError`, ToolCallFailed, TaskFailed, TaskStepFailed. */
  failure?: boolean;
  /**
   * Sent again, at its old position: what the read models show of the event (its task, tool call,
   * MCP server) changed after its first notice, because the bus lost it and the gap repair applied
   * it from the event store, and rebuilt its stream (LiveHub.announceAgain). Refetch as for a new one.
   */
  again?: true;
};

const FAILURE_TYPES = new Set(['ToolCallFailed', 'TaskFailed', 'TaskStepFailed']);

export function noticeOf(e: RecordedEvent): EventNotice {
  const data = e.data as { taskId?: unknown; isError?: unknown };
  const taskId = e.stream.startsWith('task-') ? e.stream.slice(5) : typeof data.taskId === 'string' ? data.taskId : undefined;
  const failure = FAILURE_TYPES.has(e.type) || (e.type === 'ToolCallCompleted' && data.isError === true);
  return {
    position: e.position,
    id: e.id,
    type: e.type,
    stream: e.stream,
    tenant: e.tenant,
    occurredAt: e.occurredAt,
    ...(taskId ? { taskId } : {}),
    ...(failure ? { failure } : {}),
  };
}

const BATCH_TYPES = new Set(['BatchSealed', 'BatchAnchored', 'BatchReanchored']);

/**
 * The permission that lets a principal read what a notice is about over the API: a task's events
 * (a tool call of a task too) are its task's (`tasks:read`), MCP servers' and tool calls' are the
 * MCP pages' (`mcp:read`), batches are proofs' (`proofs:read`); anything else (API keys, ...) is
 * the audit log's (`events:read`). A notice holds no payload, but its type and stream still say
 * that keys were issued or revoked, and which.
 */
export function permissionOf(n: EventNotice): Permission {
  if (n.taskId) return 'tasks:read';
  if (n.type.startsWith('McpServer') || n.type.startsWith('ToolCall')) return 'mcp:read';
  if (BATCH_TYPES.has(n.type)) return 'proofs:read';
  return 'events:read';
}

/**
 * May principal `p` see this notice? In its tenant's scope (shared "*" and system batch streams
 * are everyone's), and about something its role may read: with `events:read` everything in scope.
 */
export function visibleTo(n: EventNotice, p: Pick<Principal, 'tenant' | 'role' | 'crossTenant'>): boolean {
  const inScope = p.crossTenant || n.tenant === p.tenant || n.tenant === '*' || n.tenant === 'system';
  return inScope && (can(p.role, 'events:read') || can(p.role, permissionOf(n)));
}
