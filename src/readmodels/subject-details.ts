import type { Knex } from 'knex';
import type { IndexHints } from '../db/index-names';
import { AUDIT_STREAM_INDEX } from './schema';
import { chunks } from '../../projections/sql-rows';
import { toolCallFromRow } from '../../projections/tool-calls.sql';
import type { ReadModelTables } from '../../projections/tables';
import { auditView } from './audit-view';
import { MAX_PAGE_CHARS } from './page-fit';
import type { AuditEventView, SubjectDetails, SubjectEventFilter, TaskView } from './port';
import { subjectStreamsBefore } from './subject-streams-before';
import { loadTaskViews } from './task-views';
import { taskToolCallSizes, toolCallSizes } from './tool-call-sizes';
import { taskViewSizes } from './task-view-sizes';
import { toolCallView } from './tool-call-view';

const idIn = (prefix: string, stream: string) => (stream.startsWith(prefix) ? stream.slice(prefix.length) : undefined);
const stepCalls = (v: TaskView) => v.steps.flatMap((s) => (s.toolCallId ? [s.toolCallId] : []));

/** A query of the audit log by streams, MySQL told to read its (stream, position) index (IndexHints: it would read the tenant's rows instead). */
const byStream = <T>(db: Knex, hints: IndexHints | undefined, t: ReadModelTables, query: (from: string | Knex.Raw) => PromiseLike<T>): Promise<T> =>
  hints ? hints.run(t.auditEvents, AUDIT_STREAM_INDEX, query) : Promise.resolve(query(t.auditEvents));

/** Characters of the bodies of each of the tenant's `streams`, without reading the bodies out. */
async function streamSizes(db: Knex, hints: IndexHints | undefined, t: ReadModelTables, tenant: string, streams: string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const part of chunks(streams, 500)) {
    const rows = await byStream(db, hints, t, (from) => db.from(from).where('tenant', tenant).whereIn('stream', part).groupBy('stream').select('stream', db.raw('SUM(LENGTH(body)) AS size')));
    for (const r of rows) sizes.set(String(r.stream), Number(r.size));
  }
  return sizes;
}

/**
 * The task and call streams of `items` an earlier page of the subject's events named: with an event
 * of the subject at or before `after`, and the calls of tasks so named (their step calls went with
 * the task).
 */
async function namedBefore(db: Knex, hints: IndexHints | undefined, t: ReadModelTables, tenant: string, items: AuditEventView[], subject: Omit<SubjectEventFilter, 'limit'>): Promise<Set<string>> {
  if (subject.after === undefined || subject.after < 0) return new Set();
  const callIds = [...new Set(items.flatMap((e) => idIn('toolcall-', e.stream) ?? []))];
  const taskOfCall = new Map<string, string>();
  for (const part of chunks(callIds, 500)) {
    for (const r of await db(t.toolCalls).where('tenant', tenant).whereIn('id', part).whereNotNull('task_id').select('id', 'task_id')) taskOfCall.set(String(r.id), String(r.task_id));
  }
  const streams = [...items.map((e) => e.stream).filter((s) => s.startsWith('task-') || s.startsWith('toolcall-')), ...[...taskOfCall.values()].map((id) => `task-${id}`)];
  const before = await subjectStreamsBefore(db, hints, t, tenant, streams, subject);
  for (const [call, task] of taskOfCall) if (before.has(`task-${task}`)) before.add(`toolcall-${call}`);
  return before;
}

export type LoadSubjectDetailsOptions = {
  /** The subject and the page's start (exclusive): the tasks and calls it named at or before `after` are an earlier page's, left out. */
  subject?: Omit<SubjectEventFilter, 'limit'>;
  /** MAX_PAGE_CHARS unless told (tests). */
  budget?: number;
  /** MySQL told which index to read (SqlReadModels'). */
  hints?: IndexHints;
};

/**
 * What a subject's export needs of the tasks and tool calls a page of its events (`items`, position
 * order) is about, read together rather than one request each (GET /v1/subjects/:subject/events
 * ?include=details): each task of `tenant` with an event in `task-<id>`, as getTask shows it, with
 * every event of its stream (as a task's events list them); each call of `tenant` with an event in
 * `toolcall-<id>`, and each step call of those tasks, as getToolCall shows it. Sealed payloads are
 * left sealed (the API opens them). `taken`: how many of `items` the page keeps, at least one: it
 * ends before the event whose own body and the details it names first would take it past `budget`
 * (MAX_PAGE_CHARS). Sized from the rows' lengths before any view, trail or call is read, so a page
 * never builds more than that: the first event, when it alone would pass it with its details (a
 * task whose trail or calls hold hundreds of MiB), is kept without them, and those are left out of
 * the page as is any task or call not in the read models (not applied yet, another tenant's): the
 * export asks for each by itself, page by page, and gets the answer it would have got. A task or
 * call goes with the page of the subject's first event in its stream (`o.subject`), not again with
 * each later one: a trail of 15 MiB would otherwise be sent with every page of its events.
 * @example const { taken, tasks } = await loadSubjectDetails(db, LIVE_TABLES, 'acme', page.items);
 */
export async function loadSubjectDetails(db: Knex, t: ReadModelTables, tenant: string, items: AuditEventView[], o: LoadSubjectDetailsOptions = {}): Promise<SubjectDetails & { taken: number }> {
  const budget = o.budget ?? MAX_PAGE_CHARS;
  const before = o.subject ? await namedBefore(db, o.hints, t, tenant, items, o.subject) : new Set<string>();
  const unnamed = items.filter((e) => !before.has(e.stream));
  const taskIds = [...new Set(unnamed.flatMap((e) => idIn('task-', e.stream) ?? []))];
  const taskSizes = await taskViewSizes(db, t, tenant, taskIds);
  const known = [...taskSizes.keys()];
  const [trailSizes, taskCalls, callSizes] = await Promise.all([
    streamSizes(db, o.hints, t, tenant, known.map((id) => `task-${id}`)),
    taskToolCallSizes(db, t.toolCalls, tenant, known),
    toolCallSizes(db, t.toolCalls, tenant, unnamed.flatMap((e) => idIn('toolcall-', e.stream) ?? [])),
  ]);

  // Each event's size: its own, and that of the task and calls it is the first of the page to name
  // (of the subject's events so far: those named before went with an earlier page).
  const named = new Set<string>(before);
  const sent = new Set<string>();
  let chars = 0;
  let taken = 0;
  for (const e of items) {
    const adds = new Map<string, number>();
    const task = idIn('task-', e.stream);
    const call = idIn('toolcall-', e.stream);
    if (task !== undefined && taskSizes.has(task) && !named.has(e.stream)) {
      adds.set(e.stream, taskSizes.get(task)! + (trailSizes.get(e.stream) ?? 0));
      for (const [id, size] of taskCalls.get(task) ?? []) if (!named.has(`toolcall-${id}`)) adds.set(`toolcall-${id}`, size);
    }
    if (call !== undefined && callSizes.has(call) && !named.has(e.stream)) adds.set(e.stream, callSizes.get(call)!);
    const own = JSON.stringify(e).length;
    const more = [...adds.values()].reduce((a, b) => a + b, 0);
    if (taken > 0 && chars + own + more > budget) break;
    taken++;
    const fits = chars + own + more <= budget;
    chars += own + (fits ? more : 0);
    for (const key of adds.keys()) {
      named.add(key);
      if (fits) sent.add(key);
    }
  }

  const ids = (prefix: string) => [...sent].flatMap((key) => idIn(prefix, key) ?? []);
  const views = await loadTaskViews(db, t, ids('task-'));
  const tasks = ids('task-').flatMap((id) => views.get(id) ?? []);
  const taskEvents: AuditEventView[] = [];
  for (const part of chunks(tasks.map((v) => `task-${v.id}`), 500)) {
    const rows = await byStream(db, o.hints, t, (from) => db.from(from).where('tenant', tenant).whereIn('stream', part).select('body', 'seq', 'batch_id', 'position').orderBy('position', 'asc'));
    taskEvents.push(...rows.map(auditView));
  }
  taskEvents.sort((a, b) => a.position - b.position);
  // The page's own calls and its tasks' step calls (a call of a task that no step shows is not one of them).
  const wanted = new Set([...items.slice(0, taken).flatMap((e) => idIn('toolcall-', e.stream) ?? []), ...tasks.flatMap(stepCalls)]);
  const callIds = ids('toolcall-').filter((id) => wanted.has(id));
  const rows = new Map<string, Record<string, unknown>>();
  for (const part of chunks(callIds, 500)) for (const r of await db(t.toolCalls).where('tenant', tenant).whereIn('id', part)) rows.set(String(r.id), r);
  const toolCalls = callIds.flatMap((id) => (rows.has(id) ? [toolCallView(toolCallFromRow(rows.get(id)!))] : []));
  return { taken, tasks, taskEvents, toolCalls };
}
