import type { ProjectionApplier } from './projection';
import { auditLogApplier } from './audit-log.sql';
import { batchesApplier } from './batches.sql';
import { mcpServersApplier } from './mcp-servers.sql';
import { subjectEventsApplier } from './subject-events.sql';
import { taskStepsApplier } from './task-steps.sql';
import { tasksApplier } from './tasks.sql';
import { toolCallsApplier } from './tool-calls.sql';

export type DefaultProjectionsOptions = { seqFromPosition?: boolean };

/**
 * Every read-model projection, in the order they run inside a batch's transaction
 * (batches before the audit log, whose new rows look up sealed batches).
 */
export function defaultAppliers(options: DefaultProjectionsOptions = {}): ProjectionApplier[] {
  return [tasksApplier, taskStepsApplier, toolCallsApplier, mcpServersApplier, batchesApplier, auditLogApplier(options), subjectEventsApplier];
}

export const PROJECTION_NAMES = ['tasks', 'task-steps', 'tool-calls', 'mcp-servers', 'batches', 'audit-log', 'subject-events'] as const;
