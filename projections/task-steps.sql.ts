import { documentApplier, type DocumentStore } from './document-applier';
import { chunks, jsonOrNull, orUndefined, parseJson, upsertRows } from './sql-rows';
import { taskStepsProjection, type StepRunDoc } from './task-steps.projection';

type Row = Record<string, unknown>;
const s = (v: unknown) => orUndefined(v as string | null);

export function stepRunFromRow(r: Row): StepRunDoc {
  return {
    taskId: String(r.task_id),
    stepId: String(r.step_id),
    index: Number(r.idx),
    tool: String(r.tool),
    argumentsHash: s(r.arguments_hash),
    argumentsJson: s(r.arguments_json),
    source: s(r.source) as StepRunDoc['source'],
    status: r.status as StepRunDoc['status'],
    resultHash: s(r.result_hash),
    resultJson: s(r.result_json),
    isError: r.is_error === null ? undefined : Boolean(r.is_error),
    error: parseJson(r.error_json),
    startedAt: s(r.started_at),
    completedAt: s(r.completed_at),
    tx: parseJson(r.tx_json),
    revision: Number(r.revision),
  };
}

function toRow(d: StepRunDoc): Row {
  return {
    task_id: d.taskId,
    step_id: d.stepId,
    idx: d.index,
    tool: d.tool,
    arguments_hash: d.argumentsHash ?? null,
    arguments_json: d.argumentsJson ?? null,
    source: d.source ?? null,
    status: d.status,
    result_hash: d.resultHash ?? null,
    result_json: d.resultJson ?? null,
    is_error: d.isError ?? null,
    error_json: jsonOrNull(d.error),
    started_at: d.startedAt ?? null,
    completed_at: d.completedAt ?? null,
    tx_json: jsonOrNull(d.tx),
    revision: d.revision,
  };
}

/** A document id `<task id>/<step id>` as its row's key: a task id has no slash, a step id may. */
function keyOf(id: string): [string, string] {
  const cut = id.indexOf('/');
  return [id.slice(0, cut), id.slice(cut + 1)];
}

export const stepRunSqlStore: DocumentStore<StepRunDoc> = {
  async load(db, t, ids) {
    // The named steps by their key, not every step of their tasks: a step's end would otherwise
    // read all the steps its task ran before (and their results), growing with the task.
    const out = new Map<string, StepRunDoc>();
    for (const part of chunks(ids.map(keyOf))) {
      for (const r of await db(t.taskStepRuns).whereIn(['task_id', 'step_id'], part)) out.set(`${r.task_id}/${r.step_id}`, stepRunFromRow(r));
    }
    return out;
  },
  async save(db, t, changes) {
    await upsertRows(db, t.taskStepRuns, ['task_id', 'step_id'], changes.map((c) => toRow(c.doc)));
  },
  async delete(db, t, ids) {
    for (const part of chunks(ids.map(keyOf))) await db(t.taskStepRuns).whereIn(['task_id', 'step_id'], part).delete();
  },
  touch(doc, touched) {
    touched.taskIds.add(doc.taskId);
  },
};

export const taskStepsApplier = documentApplier(taskStepsProjection, stepRunSqlStore);
