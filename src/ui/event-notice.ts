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

/** May a principal of `tenant` see this notice? Shared ("*") and system (batch) streams are everyone's: a notice carries no payload. */
export function visibleTo(n: EventNotice, tenant: string, crossTenant: boolean): boolean {
  return crossTenant || n.tenant === tenant || n.tenant === '*' || n.tenant === 'system';
}
