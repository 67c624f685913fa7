import type { Knex } from 'knex';
import { createTable, dialectOf } from '../db/knex';
import { sha256Utf8Hex } from '../core/hash';
import { CHECKPOINT_TABLE, LIVE_TABLES, type ReadModelTables } from '../../projections/tables';
import { fillAuditActors } from './audit-actors';

type Builder = Knex.CreateTableBuilder;

/**
 * Indexes of `GET /v1/tool-calls`' filters, each in the list's order (newest request first);
 * (tenant, requested_at) serves the unfiltered list. A task's own (task_id, requested_position)
 * does not: with the tenant also given, SQLite's planner prefers the tenant's time index and
 * scans the whole tenant for one task's calls.
 */
export const TOOL_CALL_LIST_INDEXES = [
  ['tenant', 'server', 'requested_at', 'id'],
  ['tenant', 'tool', 'requested_at', 'id'],
  ['tenant', 'status', 'requested_at', 'id'],
  ['tenant', 'task_id', 'requested_at', 'id'],
] as const;

/**
 * (tenant, server, tool) of `rm_tool_calls`: the tools of a tenant's calls to a server, read by
 * toolOfAlias (GET /v1/tool-calls?tool=<an alias no longer served>) from the index alone, not the
 * server's calls (migrations/20261211070000_tool_call_server_tool_index.ts).
 */
export const TOOL_CALL_SERVER_TOOL_INDEX = ['tenant', 'server', 'tool'] as const;

/**
 * The audit log's per-tenant lists: (tenant, position) for all of a tenant's events, (tenant,
 * type, position) for one type of them (migrations/20261210000200_audit_event_type_index.ts).
 * Named here because MariaDB is told to use them (SqlReadModels.listAuditEvents).
 */
export const AUDIT_TENANT_INDEX = ['tenant', 'position'] as const;
export const AUDIT_TENANT_TYPE_INDEX = ['tenant', 'type', 'position'] as const;
/**
 * The events a data subject caused (its `actor` column, auditActor), and those of one stream (its
 * API key's, a data key's): ranges of an access request (listSubjectEvents). 100 + 255 characters
 * of utf8mb4 plus the position fit InnoDB's 3072-byte key.
 */
export const AUDIT_TENANT_ACTOR_INDEX = ['tenant', 'actor', 'position'] as const;
export const AUDIT_STREAM_INDEX = ['stream', 'position'] as const;

// MySQL TEXT stops at 64 KiB; results and envelopes may be up to about 1 MB.
function longText(knex: Knex, t: Builder, column: string): Knex.ColumnBuilder {
  return dialectOf(knex) === 'mysql' ? t.specificType(column, 'LONGTEXT') : t.text(column);
}

/** The longest identifier MySQL/MariaDB take (an index's name). */
const MAX_IDENTIFIER = 64;

/**
 * Index `columns` of `table` under knex's own name for it (`<table>_<columns>_index`, as the live
 * tables' are), or, when a rebuild's `__r<n>` table name makes that longer than MySQL takes, under
 * its start and a hash of it. Queries find an index by its columns (IndexHints), not its name.
 */
function indexOn(t: Builder, table: string, columns: readonly string[]): void {
  const name = `${table.replace(/\.|-/g, '_')}_${columns.join('_')}_index`.toLowerCase();
  if (name.length <= MAX_IDENTIFIER) t.index([...columns]);
  else t.index([...columns], `${name.slice(0, MAX_IDENTIFIER - 9)}_${sha256Utf8Hex(name).slice(2, 10)}`);
}

/**
 * The subject index (projections/subject-events.sql.ts; migrations/20261211050000_subject_events.ts):
 * the data keys of sealed payloads; its key is the lookup, (tenant, ref) then position, so a
 * subject's events after a cursor are one range per data key, in order. 100 + 255 characters of utf8mb4 plus the position fit InnoDB's 3072-byte key.
 */
export async function createSubjectEventsTable(knex: Knex, table: string): Promise<void> {
  await createTable(knex, table, (t) => {
    t.string('tenant', 100).notNullable();
    t.string('ref', 255).notNullable();
    t.bigInteger('position').notNullable();
    t.primary(['tenant', 'ref', 'position']);
  });
}

/**
 * Table definitions of each projection, shared by the migration and by rebuilds (which create
 * the same tables under fresh names). Timestamps are ISO-8601 strings, as in the event store,
 * so that both dialects compare and sort them identically.
 */
export const projectionSchemas: Record<string, {
  tables: (keyof ReadModelTables)[];
  create(knex: Knex, names: ReadModelTables): Promise<void>;
  /** What a rebuild of it also fills in a live table it reads beside its own (rows an older release wrote). */
  fillLive?(knex: Knex): Promise<number>;
  /** Projections a rebuild of it also applies each event to, into their live tables (insert-only ones). */
  alsoApplies?: string[];
}> = {
  tasks: {
    tables: ['tasks', 'taskSteps'],
    async create(knex, n) {
      await createTable(knex, n.tasks, (t) => {
        t.string('id', 200).primary();
        t.string('tenant', 100).notNullable();
        t.string('status', 20).notNullable();
        longText(knex, t, 'instruction');
        // MCP_PAYLOAD_POLICY=encrypted: the sealed instruction as JSON (migrations/20261211000100_task_input_sealed.ts).
        longText(knex, t, 'instruction_sealed');
        t.string('instruction_hash', 66);
        // TaskSubmitted v4: the scheme of instruction_hash (migrations/20261211060000_payload_hash_schemes.ts).
        t.string('instruction_hash_scheme', 40);
        t.string('agent_id', 200);
        t.bigInteger('chain_id');
        longText(knex, t, 'output_json');
        t.string('output_hash', 66);
        longText(knex, t, 'sealed_answer_json');
        t.text('error_json');
        // Proposals waiting for approval (migrations/20261211080000_task_approvals.ts).
        t.text('approvals_json');
        t.string('created_at', 24).notNullable();
        t.string('updated_at', 24).notNullable();
        t.integer('revision').notNullable();
        t.bigInteger('position').notNullable();
        indexOn(t, n.tasks, ['tenant', 'created_at', 'id']);
        indexOn(t, n.tasks, ['tenant', 'status', 'created_at', 'id']);
        indexOn(t, n.tasks, ['tenant', 'agent_id', 'created_at', 'id']);
      });
      await createTable(knex, n.taskSteps, (t) => {
        t.string('task_id', 200).notNullable();
        t.integer('idx').notNullable();
        t.string('tool', 200).notNullable();
        longText(knex, t, 'arguments_json');
        t.string('arguments_hash', 66);
        longText(knex, t, 'arguments_sealed');
        t.primary(['task_id', 'idx']);
      });
    },
  },
  'task-steps': {
    tables: ['taskStepRuns'],
    async create(knex, n) {
      await createTable(knex, n.taskStepRuns, (t) => {
        t.string('task_id', 200).notNullable();
        t.string('step_id', 200).notNullable();
        t.integer('idx').notNullable();
        t.string('tool', 200).notNullable();
        t.string('arguments_hash', 66);
        longText(knex, t, 'arguments_json');
        t.string('source', 10);
        t.string('status', 20).notNullable();
        t.string('result_hash', 66);
        longText(knex, t, 'result_json');
        t.boolean('is_error');
        t.text('error_json');
        t.string('started_at', 24);
        t.string('completed_at', 24);
        // A chain step's transaction (migrations/20261211100000_step_run_transactions.ts).
        t.text('tx_json');
        t.integer('revision').notNullable();
        t.primary(['task_id', 'step_id']);
        indexOn(t, n.taskStepRuns, ['task_id', 'idx']);
      });
    },
  },
  'tool-calls': {
    tables: ['toolCalls'],
    async create(knex, n) {
      await createTable(knex, n.toolCalls, (t) => {
        t.string('id', 200).primary();
        t.string('tenant', 100).notNullable();
        t.string('task_id', 200);
        // ToolCallRequested v5: the agent step the call was made for (migrations/20261211090000_tool_call_step.ts).
        t.string('step_id', 200);
        t.string('server_id', 200).notNullable();
        t.string('server', 200).notNullable();
        t.string('tool', 200).notNullable();
        t.string('status', 20).notNullable();
        t.string('arguments_hash', 66);
        longText(knex, t, 'arguments_json');
        t.string('result_hash', 66);
        longText(knex, t, 'result_json');
        // MCP_PAYLOAD_POLICY=encrypted: the sealed envelopes as JSON (migrations/20261210000300_subject_keys.ts).
        longText(knex, t, 'arguments_sealed');
        longText(knex, t, 'result_sealed');
        // v3 and v4: the schemes of the salted hashes, and (v4) the salts sealed alone (migrations/20261211060000_payload_hash_schemes.ts).
        t.string('arguments_hash_scheme', 40);
        t.string('result_hash_scheme', 40);
        t.text('arguments_salt_sealed');
        t.text('result_salt_sealed');
        t.text('error_salt_sealed');
        t.boolean('is_error');
        t.boolean('cached');
        t.bigInteger('latency_us');
        t.text('error_json');
        t.string('requested_at', 24);
        t.string('completed_at', 24);
        t.bigInteger('requested_position');
        t.integer('revision').notNullable();
        indexOn(t, n.toolCalls, ['task_id', 'requested_position']);
        indexOn(t, n.toolCalls, ['tenant', 'requested_at']);
        // GET /v1/tool-calls filters (migrations/20261209000100_tool_call_list_indexes.ts).
        for (const columns of TOOL_CALL_LIST_INDEXES) indexOn(t, n.toolCalls, columns);
        indexOn(t, n.toolCalls, TOOL_CALL_SERVER_TOOL_INDEX);
      });
    },
  },
  'audit-log': {
    tables: ['auditEvents'],
    // Its rows get their actor, which the projectors' sweep tells an older projector's unindexed
    // events by (none): so their subject index rows too, or the sweep would never find them.
    alsoApplies: ['subject-events'],
    async create(knex, n) {
      await createTable(knex, n.auditEvents, (t) => {
        t.bigInteger('position').primary();
        t.string('id', 36).notNullable().unique();
        t.string('stream', 200).notNullable();
        t.integer('revision').notNullable();
        t.string('type', 100).notNullable();
        t.string('tenant', 100).notNullable();
        t.string('occurred_at', 24).notNullable();
        t.string('hash', 66).notNullable();
        longText(knex, t, 'body').notNullable();
        t.bigInteger('seq');
        t.bigInteger('batch_id');
        // Who caused it, as the subject index names an actor (auditActor; migrations/20261211050000_subject_events.ts).
        t.string('actor', 255);
        indexOn(t, n.auditEvents, [...AUDIT_TENANT_INDEX]);
        indexOn(t, n.auditEvents, [...AUDIT_TENANT_TYPE_INDEX]);
        indexOn(t, n.auditEvents, [...AUDIT_TENANT_ACTOR_INDEX]);
        indexOn(t, n.auditEvents, [...AUDIT_STREAM_INDEX]);
        indexOn(t, n.auditEvents, ['type', 'position']);
        indexOn(t, n.auditEvents, ['seq']);
        indexOn(t, n.auditEvents, ['batch_id']);
      });
    },
  },
  'subject-events': {
    tables: ['subjectEvents'],
    async create(knex, n) {
      await createSubjectEventsTable(knex, n.subjectEvents);
    },
    // The audit log's actor column, which an older release's projector leaves empty (a rolling upgrade),
    // each row's index rows first: one it applies after the swap must not get its actor without them,
    // or the projectors' sweep (rows without an actor) would never index it.
    fillLive: (knex) => fillAuditActors(knex, LIVE_TABLES.auditEvents, LIVE_TABLES.subjectEvents),
  },
  batches: {
    tables: ['batches'],
    async create(knex, n) {
      await createTable(knex, n.batches, (t) => {
        t.bigInteger('batch_id').primary();
        t.bigInteger('first_seq');
        t.bigInteger('last_seq');
        t.string('root', 66);
        t.string('prev_root', 66);
        t.string('signer', 42);
        t.string('signature', 132);
        t.string('sealed_at', 24);
        t.bigInteger('chain_id');
        t.string('contract', 42);
        t.string('tx_hash', 66);
        t.bigInteger('block_number');
        t.string('gas_used', 40);
        t.string('anchored_at', 24);
        t.text('extra_json');
        indexOn(t, n.batches, ['first_seq', 'last_seq']);
      });
    },
  },
  'mcp-servers': {
    tables: ['mcpServers', 'mcpTools'],
    async create(knex, n) {
      await createTable(knex, n.mcpServers, (t) => {
        t.string('id', 200).primary();
        t.string('tenant', 100).notNullable();
        t.string('name', 200).notNullable();
        t.string('transport', 10).notNullable();
        t.text('command');
        longText(knex, t, 'args_json');
        longText(knex, t, 'env_keys_json');
        t.text('url');
        t.string('health', 10).notNullable();
        t.text('health_reason');
        t.string('tools_hash', 66);
        t.boolean('removed').notNullable();
        t.string('registered_at', 24).notNullable();
        t.string('updated_at', 24).notNullable();
        t.integer('revision').notNullable();
        indexOn(t, n.mcpServers, ['tenant', 'name']);
      });
      await createTable(knex, n.mcpTools, (t) => {
        t.string('server_id', 200).notNullable();
        t.string('name', 200).notNullable();
        t.string('tenant', 100).notNullable();
        t.string('server', 200).notNullable();
        t.text('title');
        longText(knex, t, 'description');
        longText(knex, t, 'input_schema_json').notNullable();
        longText(knex, t, 'output_schema_json');
        t.text('annotations_json');
        // McpServerToolsDiscovered v2: up to 8 icons of 8,192 characters, _meta up to 20,000 (beyond TEXT on MySQL).
        longText(knex, t, 'icons_json');
        longText(knex, t, 'meta_json');
        t.primary(['server_id', 'name']);
        indexOn(t, n.mcpTools, ['tenant']);
      });
    },
  },
};

export async function createCheckpointTable(knex: Knex): Promise<void> {
  await createTable(knex, CHECKPOINT_TABLE, (t) => {
    t.string('projection', 100).primary();
    t.bigInteger('position').notNullable();
    t.string('updated_at', 24).notNullable();
  });
}
