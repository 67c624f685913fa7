import { documentApplier, type DocumentStore } from './document-applier';
import { chunks, jsonOrNull, num, orUndefined, parseJson, upsertRows } from './sql-rows';
import { toolCallsProjection, type ToolCallDoc } from './tool-calls.projection';

type Row = Record<string, unknown>;

export function toolCallFromRow(r: Row): ToolCallDoc {
  return {
    id: String(r.id),
    tenant: String(r.tenant),
    taskId: orUndefined(r.task_id as string | null),
    stepId: orUndefined(r.step_id as string | null),
    serverId: String(r.server_id),
    server: String(r.server),
    tool: String(r.tool),
    status: r.status as ToolCallDoc['status'],
    argumentsHash: orUndefined(r.arguments_hash as string | null),
    argumentsJson: orUndefined(r.arguments_json as string | null),
    resultHash: orUndefined(r.result_hash as string | null),
    resultJson: orUndefined(r.result_json as string | null),
    argumentsSealed: parseJson(r.arguments_sealed),
    resultSealed: parseJson(r.result_sealed),
    argumentsSaltSealed: parseJson(r.arguments_salt_sealed),
    resultSaltSealed: parseJson(r.result_salt_sealed),
    errorSaltSealed: parseJson(r.error_salt_sealed),
    argumentsHashScheme: orUndefined(r.arguments_hash_scheme as ToolCallDoc['argumentsHashScheme'] | null),
    resultHashScheme: orUndefined(r.result_hash_scheme as ToolCallDoc['resultHashScheme'] | null),
    isError: r.is_error === null ? undefined : Boolean(r.is_error),
    cached: r.cached === null ? undefined : Boolean(r.cached),
    latencyUs: num(r.latency_us),
    error: parseJson(r.error_json),
    requestedAt: orUndefined(r.requested_at as string | null),
    completedAt: orUndefined(r.completed_at as string | null),
    requestedPosition: Number(r.requested_position),
    revision: Number(r.revision),
  };
}

function toRow(d: ToolCallDoc): Row {
  return {
    id: d.id,
    tenant: d.tenant,
    task_id: d.taskId ?? null,
    step_id: d.stepId ?? null,
    server_id: d.serverId,
    server: d.server,
    tool: d.tool,
    status: d.status,
    arguments_hash: d.argumentsHash ?? null,
    arguments_json: d.argumentsJson ?? null,
    result_hash: d.resultHash ?? null,
    result_json: d.resultJson ?? null,
    arguments_sealed: jsonOrNull(d.argumentsSealed),
    result_sealed: jsonOrNull(d.resultSealed),
    arguments_salt_sealed: jsonOrNull(d.argumentsSaltSealed),
    result_salt_sealed: jsonOrNull(d.resultSaltSealed),
    error_salt_sealed: jsonOrNull(d.errorSaltSealed),
    arguments_hash_scheme: d.argumentsHashScheme ?? null,
    result_hash_scheme: d.resultHashScheme ?? null,
    is_error: d.isError ?? null,
    cached: d.cached ?? null,
    latency_us: d.latencyUs ?? null,
    error_json: jsonOrNull(d.error),
    requested_at: d.requestedAt ?? null,
    completed_at: d.completedAt ?? null,
    requested_position: d.requestedPosition,
    revision: d.revision,
  };
}

export const toolCallSqlStore: DocumentStore<ToolCallDoc> = {
  async load(db, t, ids) {
    const out = new Map<string, ToolCallDoc>();
    if (ids.length) for (const r of await db(t.toolCalls).whereIn('id', ids)) out.set(String(r.id), toolCallFromRow(r));
    return out;
  },
  async save(db, t, changes) {
    await upsertRows(db, t.toolCalls, 'id', changes.map((c) => toRow(c.doc)));
  },
  async delete(db, t, ids) {
    for (const part of chunks(ids)) await db(t.toolCalls).whereIn('id', part).delete();
  },
  // A task's steps are read with its tool calls, so a call changes the cached task view.
  touch(doc, touched) {
    if (doc.taskId) touched.taskIds.add(doc.taskId);
  },
};

export const toolCallsApplier = documentApplier(toolCallsProjection, toolCallSqlStore);
