import type { Knex } from 'knex';
import { chunks } from '../../projections/sql-rows';
import { toolCallFromRow } from '../../projections/tool-calls.sql';
import type { ReadModelTables } from '../../projections/tables';
import { auditView } from './audit-view';
import { fitting } from './page-fit';
import type { AuditEventView, SubjectDetails, TaskView } from './port';
import { loadTaskViews } from './task-views';
import { toolCallSizes } from './tool-call-sizes';
import { toolCallView } from './tool-call-view';

const idIn = (prefix: string, stream: string) => (stream.startsWith(prefix) ? stream.slice(prefix.length) : undefined);
const stepCalls = (v: TaskView) => v.steps.flatMap((s) => (s.toolCallId ? [s.toolCallId] : []));

/** Characters of the bodies of each of the tenant's `streams`, without reading the bodies out. */
async function streamSizes(db: Knex, t: ReadModelTables, tenant: string, streams: string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const part of chunks(streams, 500)) {
    const rows = await db(t.auditEvents).where('tenant', tenant).whereIn('stream', part).groupBy('stream').select('stream', db.raw('SUM(LENGTH(body)) AS size'));
    for (const r of rows) sizes.set(String(r.stream), Number(r.size));
  }
  return sizes;
}

/**
 * What a subject's export needs of the tasks and tool calls a page of its events (`items`, position
 * order) is about, read together rather than one request each (GET /v1/subjects/:subject/events
 * ?include=details): each task of `tenant` with an event in `task-<id>`, as getTask shows it, with
 * every event of its stream (as a task's events list them); each call of `tenant` with an event in
 * `toolcall-<id>`, and each step call of those tasks, as getToolCall shows it. Sealed payloads are
 * left sealed (the API opens them). `taken`: how many of `items` the details cover, at least one:
 * the page ends before the event whose own body and the details it adds first would take it past
 * MAX_PAGE_CHARS. A task or call not in the read models (not applied yet, another tenant's) is
 * left out; the export asks for it by itself, and gets the answer it would have got.
 * @example const { taken, tasks } = await loadSubjectDetails(db, LIVE_TABLES, 'acme', page.items);
 */
export async function loadSubjectDetails(db: Knex, t: ReadModelTables, tenant: string, items: AuditEventView[]): Promise<SubjectDetails & { taken: number }> {
  const taskIds = [...new Set(items.flatMap((e) => idIn('task-', e.stream) ?? []))];
  const views = new Map([...(await loadTaskViews(db, t, taskIds))].filter(([, v]) => v.tenant === tenant));
  const trailSizes = await streamSizes(db, t, tenant, [...views.keys()].map((id) => `task-${id}`));
  const viewOf = (e: AuditEventView) => views.get(idIn('task-', e.stream) ?? '');
  const callsOf = (e: AuditEventView) => {
    const view = viewOf(e);
    return [idIn('toolcall-', e.stream) ?? [], view ? stepCalls(view) : []].flat();
  };
  const callSizes = await toolCallSizes(db, t.toolCalls, tenant, items.flatMap(callsOf));

  // Each event's size: its own, and that of the task and calls it is the first of the page to name.
  const named = new Set<string>();
  const first = (key: string) => {
    if (named.has(key)) return false;
    named.add(key);
    return true;
  };
  const sized = items.map((e) => {
    let size = JSON.stringify(e).length;
    const view = viewOf(e);
    if (view && first(e.stream)) size += JSON.stringify(view).length + (trailSizes.get(e.stream) ?? 0);
    for (const c of callsOf(e)) if (first(`toolcall-${c}`)) size += callSizes.get(c) ?? 0;
    return { size };
  });
  const taken = fitting(sized, sized.length);

  const page = items.slice(0, taken);
  const tasks = [...new Set(page.flatMap((e) => idIn('task-', e.stream) ?? []))].flatMap((id) => views.get(id) ?? []);
  const taskEvents: AuditEventView[] = [];
  for (const part of chunks(tasks.map((v) => `task-${v.id}`), 500)) {
    const rows = await db(t.auditEvents).where('tenant', tenant).whereIn('stream', part).select('body', 'seq', 'batch_id', 'position').orderBy('position', 'asc');
    taskEvents.push(...rows.map(auditView));
  }
  taskEvents.sort((a, b) => a.position - b.position);
  const callIds = [...new Set(page.flatMap(callsOf))].filter((id) => callSizes.has(id));
  const rows = new Map<string, Record<string, unknown>>();
  for (const part of chunks(callIds, 500)) for (const r of await db(t.toolCalls).where('tenant', tenant).whereIn('id', part)) rows.set(String(r.id), r);
  const toolCalls = callIds.flatMap((id) => (rows.has(id) ? [toolCallView(toolCallFromRow(rows.get(id)!))] : []));
  return { taken, tasks, taskEvents, toolCalls };
}
