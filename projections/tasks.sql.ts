import { documentApplier, type DocumentStore } from './document-applier';
import type { TaskStatus } from './tasks.projection';
import { chunks, insertNewRows, jsonOrNull, num, orUndefined, parseJson, upsertRows } from './sql-rows';
import { tasksProjection, type TaskDoc } from './tasks.projection';

type Row = Record<string, unknown>;

export function taskFromRow(r: Row): TaskDoc {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    status: r.status as TaskStatus,
    instruction: orUndefined(r.instruction as string | null),
    instructionSealed: parseJson(r.instruction_sealed),
    instructionHash: orUndefined(r.instruction_hash as string | null),
    instructionHashScheme: orUndefined(r.instruction_hash_scheme as TaskDoc['instructionHashScheme'] | null),
    agentId: orUndefined(r.agent_id as string | null),
    chainId: num(r.chain_id),
    output: parseJson(r.output_json),
    outputHash: orUndefined(r.output_hash as string | null),
    sealedAnswer: parseJson(r.sealed_answer_json),
    error: parseJson(r.error_json),
    approvals: parseJson(r.approvals_json),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
    revision: Number(r.revision),
    position: Number(r.position),
  };
}

function toRow(d: TaskDoc): Row {
  return {
    id: d.id,
    tenant: d.tenant,
    status: d.status,
    instruction: d.instruction ?? null,
    instruction_sealed: jsonOrNull(d.instructionSealed),
    instruction_hash: d.instructionHash ?? null,
    instruction_hash_scheme: d.instructionHashScheme ?? null,
    agent_id: d.agentId ?? null,
    chain_id: d.chainId ?? null,
    output_json: jsonOrNull(d.output),
    output_hash: d.outputHash ?? null,
    sealed_answer_json: jsonOrNull(d.sealedAnswer),
    error_json: jsonOrNull(d.error),
    approvals_json: jsonOrNull(d.approvals),
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    revision: d.revision,
    position: d.position,
  };
}

/** `rm_tasks` holds the task row; `rm_task_steps` the steps given at submission (immutable). */
export const taskSqlStore: DocumentStore<TaskDoc> = {
  async load(db, t, ids) {
    const out = new Map<string, TaskDoc>();
    if (ids.length) for (const r of await db(t.tasks).whereIn('id', ids)) out.set(String(r.id), taskFromRow(r));
    return out;
  },
  async save(db, t, changes) {
    await upsertRows(db, t.tasks, 'id', changes.map((c) => toRow(c.doc)));
    const steps = changes
      .filter((c) => !c.previous && c.doc.steps)
      .flatMap((c) => c.doc.steps!.map((s, idx) => ({ task_id: c.id, idx, tool: s.tool, arguments_json: jsonOrNull(s.arguments), arguments_hash: s.argumentsHash ?? null, arguments_sealed: jsonOrNull(s.argumentsSealed) })));
    await insertNewRows(db, t.taskSteps, ['task_id', 'idx'], steps);
  },
  async delete(db, t, ids) {
    for (const part of chunks(ids)) {
      await db(t.taskSteps).whereIn('task_id', part).delete();
      await db(t.tasks).whereIn('id', part).delete();
    }
  },
  touch(doc, touched) {
    touched.taskIds.add(doc.id);
  },
};

export const tasksApplier = documentApplier(tasksProjection, taskSqlStore);
