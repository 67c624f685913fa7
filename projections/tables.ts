/**
 * Physical names of the read-model tables. Appliers and queries take a `ReadModelTables` rather
 * than hard-coded names so that a rebuild can write the same projection into fresh tables
 * (`rm_tasks__r<n>`) while the API keeps reading the live ones.
 */
export type ReadModelTables = {
  tasks: string;
  taskSteps: string;
  taskStepRuns: string;
  toolCalls: string;
  auditEvents: string;
  batches: string;
  mcpServers: string;
  mcpTools: string;
  subjectEvents: string;
};

export const LIVE_TABLES: ReadModelTables = {
  tasks: 'rm_tasks',
  taskSteps: 'rm_task_steps',
  taskStepRuns: 'rm_task_step_runs',
  toolCalls: 'rm_tool_calls',
  auditEvents: 'rm_audit_events',
  batches: 'rm_batches',
  mcpServers: 'rm_mcp_servers',
  mcpTools: 'rm_mcp_tools',
  subjectEvents: 'rm_subject_events',
};

/** Per-projection progress: the highest global position applied, for waitForPosition and lag. */
export const CHECKPOINT_TABLE = 'rm_projection_checkpoints';

/**
 * One row: the read cache's epoch, part of every read-cache key. Raised whenever a cache write
 * the read models rely on may not have landed, so every process moves to fresh keys at once.
 */
export const CACHE_EPOCH_TABLE = 'rm_cache_epoch';
