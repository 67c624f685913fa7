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

export const stepRunSqlStore: DocumentStore<StepRunDoc> = {
  async load(db, t, ids) {
    const out = new Map<string, StepRunDoc>();
    if (!ids.length) return out;
    const byTask = [...new Set(ids.map((id) => id.slice(0, id.lastIndexOf('/'))))];
    const wanted = new Set(ids);
    for (const r of await db(t.taskStepRuns).whereIn('task_id', byTask)) {
      const key = `${r.task_id}/${r.step_id}`;
      if (wanted.has(key)) out.set(key, stepRunFromRow(r));
    }
    return out;
  },
  async save(db, t, changes) {
    await upsertRows(db, t.taskStepRuns, ['task_id', 'step_id'], changes.map((c) => toRow(c.doc)));
  },
  async delete(db, t, ids) {
    // `<task id>/<step id>`: a task id has no slash, a step id may.
    const pairs = ids.map((id) => [id.slice(0, id.indexOf('/')), id.slice(id.indexOf('/') + 1)]);
    for (const part of chunks(pairs)) await db(t.taskStepRuns).whereIn(['task_id', 'step_id'], part).delete();
  },
  touch(doc, touched) {
    touched.taskIds.add(doc.taskId);
  },
};

export const taskStepsApplier = documentApplier(taskStepsProjection, stepRunSqlStore);
