import type { z } from 'zod';
import type { AuditEventView } from '../api/schemas/events';
import type { SubjectRecord } from '../api/schemas/subjects';
import type { TaskView } from '../api/schemas/tasks';
import type { ToolCallView } from '../api/schemas/tool-calls';
import { parseSubject } from '../erasure/subject';
import type { OpenMcpClient } from './client';
import { NotFoundApiError, SubjectExportHeldError, ValidationApiError } from './errors';
import { pages } from './pages';
import { patiently } from './patiently';
import { scanLogForSubject } from './subject-log-scan';

/** What `exportSubject` gathers: the log's events about the subject, and its tasks and tool calls as the API shows them. */
export type SubjectExport = {
  format: 'openmcp-subject-export/1';
  subject: string;
  exportedAt: string;
  keys: z.infer<typeof SubjectRecord>['keys'];
  events: z.infer<typeof AuditEventView>[];
  tasks: z.infer<typeof TaskView>[];
  toolCalls: z.infer<typeof ToolCallView>[];
};

export type ExportSubjectOptions = {
  now?: () => Date;
  /** How to wait out a 429 the SDK's own retries did not (tests pass one that does not wait). */
  sleep?: (ms: number) => Promise<void>;
};

/** What pages of the subject's events held of its tasks and tool calls (include=details), each the first page's. */
type Details = { tasks: Map<string, SubjectExport['tasks'][number]>; trails: Map<string, SubjectExport['events']>; toolCalls: Map<string, SubjectExport['toolCalls'][number]> };

/**
 * How long an export waits for a hold at one position that lists nothing new (the projectors fill
 * an unindexed row within a minute), and for holds in all (one that keeps moving on: a partition
 * that stays behind a busy log), asking every 5 s.
 */
const HOLD_WAIT_MS = 5 * 60_000;
const HOLD_TOTAL_MS = 30 * 60_000;
const HOLD_POLL_MS = 5_000;

/**
 * The subject's events from the server's subject index (GET /v1/subjects/:subject/events), page by
 * page, with what each page holds of its tasks and calls kept in `details` (include=details; a
 * server without it sends none, or refuses the parameter: then asked without it), a held page
 * waited for (asked again every 5 s from its cursor, with include=details or without as the pages
 * before; SubjectExportHeldError after 5 minutes held at one position, or 30 in all); from the
 * whole log (scanLogForSubject) when the server has no such route (before 2026-12-11).
 */
async function* subjectEvents(client: OpenMcpClient, subject: string, kids: ReadonlySet<string>, sleep: (ms: number) => Promise<void>, details: Details): AsyncGenerator<SubjectExport['events'][number], void, undefined> {
  let include: 'details' | undefined = 'details';
  const ask = (cursor?: string) => patiently(() => client.subjects.events(subject, { limit: 1000, ...(cursor === undefined ? {} : { cursor }), ...(include ? { include } : {}) }), sleep);
  const page = (cursor?: string) =>
    ask(cursor)
      .catch((err: unknown) => {
        // The subject index without include=details (a build of 2026-12-11 before it; in a rolling
        // upgrade, any page's replica): that page and the rest alone.
        if (!(include && err instanceof ValidationApiError && err.field === 'querystring.include')) throw err;
        include = undefined;
        return ask(cursor);
      })
      .then((p) => {
        for (const t of p.tasks ?? []) {
          if (details.tasks.has(t.id)) continue;
          details.tasks.set(t.id, t);
          details.trails.set(`task-${t.id}`, p.taskEvents?.filter((e) => e.stream === `task-${t.id}`) ?? []);
        }
        for (const c of p.toolCalls ?? []) if (!details.toolCalls.has(c.id)) details.toolCalls.set(c.id, c);
        // Held where the audit log lacks an event yet: a trail read with this page or before may lack
        // it too, and no later page sends that task again. Those trails are read at the end instead.
        if (p.held?.reason === 'unapplied') details.trails.clear();
        return p;
      });
  let first;
  try {
    first = await page();
  } catch (err) {
    if (!(err instanceof NotFoundApiError && err.code === 'ROUTE_NOT_FOUND')) throw err;
    yield* scanLogForSubject(client, subject, kids, sleep);
    return;
  }
  let cursor: string | undefined;
  // Held at one place (reset when it moves on or lists more), and in all.
  let here = { position: -1, waited: 0 };
  let waited = 0;
  for (let p = first; ; ) {
    yield* p.items;
    if (p.nextCursor !== undefined) cursor = p.nextCursor;
    else if (p.held) {
      // Not the end: the log has events past the hold, which stopping here would leave out unsaid.
      const held = p.held;
      if (p.items.length || held.position !== here.position) here = { position: held.position, waited: 0 };
      if (here.waited >= HOLD_WAIT_MS) throw new SubjectExportHeldError(subject, held, `${HOLD_WAIT_MS / 60_000} minutes at that position`);
      if (waited >= HOLD_TOTAL_MS) throw new SubjectExportHeldError(subject, held, `${HOLD_TOTAL_MS / 60_000} minutes in all (the hold moving on)`);
      await sleep(HOLD_POLL_MS);
      here.waited += HOLD_POLL_MS;
      waited += HOLD_POLL_MS;
      cursor = held.cursor ?? cursor;
    } else return;
    p = await page(cursor);
  }
}

/**
 * Everything the gateway shows about a data subject (`<tenant>:<kind>:<actor id>`), for an access
 * request (GDPR art. 15): its data keys (none under MCP_PAYLOAD_POLICY=store or hash-only), the
 * events of its tenant it caused (its actor), those of its own API key's stream (`apikey-<id>`),
 * those sealed under its keys (a task's tool calls, made by a worker on its behalf) and their
 * erasures (those four from the server's subject index, GET /v1/subjects/:subject/events; from the
 * whole log the key sees on a server without it), and the whole trail of each of its tasks; then
 * each task and tool call of those, opened as GET /v1/tasks/:id and /v1/tool-calls/:id show them (a
 * task's step calls too): from the pages of its events (include=details: a request per page), one
 * request each for those no page held (from a server before that, every one; and all of them when
 * one of its keys was erased while the pages were read). Needs an admin key of
 * the subject's tenant (or a cross-tenant one). A 429 (a page's too) is waited out (Retry-After) and asked again, up to 20 times a request.
 * A held page (with its details or without) is waited for and asked again from its cursor; after a
 * hold where the audit log lacked an event, the trails read until then are asked for again at the end.
 * Throws VALIDATION_FAILED for a malformed id, SDK_SUBJECT_EXPORT_HELD for a page held 5 minutes at
 * one position (30 in all), the API's errors otherwise.
 * @example const x = await exportSubject(client, 'acme:user:0193…'); x.toolCalls.length
 */
export async function exportSubject(client: OpenMcpClient, subject: string, o: ExportSubjectOptions = {}): Promise<SubjectExport> {
  parseSubject(subject);
  const now = o.now ?? (() => new Date());
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const keys = await patiently(() => client.subjects.show(subject), sleep).then(
    (r) => r.keys,
    (err: unknown) => {
      if (err instanceof NotFoundApiError && err.code === 'SUBJECT_NOT_FOUND') return [];
      throw err;
    },
  );
  const kids = new Set(keys.map((k) => k.kid));
  const events: SubjectExport['events'] = [];
  const details: Details = { tasks: new Map(), trails: new Map(), toolCalls: new Map() };
  for await (const e of subjectEvents(client, subject, kids, sleep, details)) events.push(e);
  // A key erased while the pages were read (live in `keys`, its SubjectKeyErased listed since): the
  // pages before opened what it sealed. Each asked for after it instead, as the export without the pages did.
  const live = new Set(keys.filter((k) => !k.erasedAt).map((k) => `subject-${k.kid}`));
  if (events.some((e) => e.type === 'SubjectKeyErased' && live.has(e.stream))) for (const m of Object.values(details)) m.clear();
  const ids = (prefix: string) => [...new Set(events.filter((e) => e.stream.startsWith(prefix)).map((e) => e.stream.slice(prefix.length)))];
  // One request at a time, for what no page held: a subject with thousands of calls must not spend the key's rate limit at once.
  const tasks: SubjectExport['tasks'] = [];
  const seen = new Set(events.map((e) => e.id));
  for (const id of ids('task-')) {
    tasks.push(details.tasks.get(id) ?? (await patiently(() => client.tasks.get(id), sleep)));
    // The rest of the task's trail: its worker's events (the actor is the worker, not the subject).
    const trail = details.trails.get(`task-${id}`) ?? pages(() => patiently(() => client.tasks.events(id, { limit: 1000 }), sleep), (cursor) => patiently(() => client.tasks.events(id, { limit: 1000, cursor }), sleep));
    for await (const e of trail) if (!seen.has(e.id)) (seen.add(e.id), events.push(e));
  }
  events.sort((a, b) => a.position - b.position);
  const callIds = new Set([...ids('toolcall-'), ...tasks.flatMap((t) => t.steps.flatMap((s) => (s.toolCallId ? [s.toolCallId] : [])))]);
  const toolCalls: SubjectExport['toolCalls'] = [];
  for (const id of callIds) toolCalls.push(details.toolCalls.get(id) ?? (await patiently(() => client.toolCalls.get(id), sleep)));
  return { format: 'openmcp-subject-export/1', subject, exportedAt: now().toISOString(), keys, events, tasks, toolCalls };
}
