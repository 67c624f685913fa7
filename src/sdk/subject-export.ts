import type { z } from 'zod';
import type { AuditEventView } from '../api/schemas/events';
import type { SubjectRecord } from '../api/schemas/subjects';
import type { TaskView } from '../api/schemas/tasks';
import type { ToolCallView } from '../api/schemas/tool-calls';
import { parseSubject } from '../erasure/subject';
import type { OpenMcpClient } from './client';
import { NotFoundApiError, RateLimitedApiError } from './errors';

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

/** The `kid` of every sealed payload in `v` (`{alg, kid, iv, ct, tag}`, at any depth of an event's data). */
function sealedKids(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) sealedKids(x, out);
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.kid === 'string' && typeof o.ct === 'string') out.push(o.kid);
    else for (const x of Object.values(o)) sealedKids(x, out);
  }
  return out;
}

export type ExportSubjectOptions = {
  now?: () => Date;
  /** How to wait out a 429 the SDK's own retries did not (tests pass one that does not wait). */
  sleep?: (ms: number) => Promise<void>;
};

/** Times a request refused 429 is asked again, each after the server's Retry-After (else 5 s, at most 60 s). */
const RATE_LIMITED_ATTEMPTS = 20;

/**
 * `fn()`, asked again while the server answers 429 (past the SDK's own few retries): one request
 * per task and tool call of a busy subject runs into the key's per-minute limit, and an export
 * must not stop halfway for it.
 */
async function patiently<T>(fn: () => Promise<T>, sleep: (ms: number) => Promise<void>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof RateLimitedApiError) || attempt >= RATE_LIMITED_ATTEMPTS) throw err;
      await sleep(Math.min(60, err.retryAfterSeconds ?? 5) * 1000);
    }
  }
}

/**
 * Everything the gateway shows about a data subject (`<tenant>:<kind>:<actor id>`), for an access
 * request (GDPR art. 15): its data keys (none under MCP_PAYLOAD_POLICY=store or hash-only), the
 * events of its tenant it caused (its actor), those of its own API key's stream (`apikey-<id>`),
 * those sealed under its keys (a task's tool calls, made by a worker on its behalf) and their
 * erasures, and the whole trail of each of its tasks; then each task and tool call of those, opened as GET /v1/tasks/:id and
 * /v1/tool-calls/:id show them (a task's step calls too). Reads the whole log the key sees, page by
 * page: on a large log it takes minutes. Needs an admin key of the subject's tenant (or a
 * cross-tenant one). A 429 is waited out (Retry-After) and asked again, up to 20 times a request.
 * Throws VALIDATION_FAILED for a malformed id, the API's errors otherwise.
 * @example const x = await exportSubject(client, 'acme:user:0193…'); x.toolCalls.length
 */
export async function exportSubject(client: OpenMcpClient, subject: string, o: ExportSubjectOptions = {}): Promise<SubjectExport> {
  const { tenant, actor } = parseSubject(subject);
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
  const own = `apikey-${actor.id}`;
  const events: SubjectExport['events'] = [];
  for await (const e of client.events.all({ limit: 1000 })) {
    if (e.tenant !== tenant) continue;
    const mine =
      (e.actor.kind === actor.kind && e.actor.id === actor.id) ||
      e.stream === own ||
      (e.stream.startsWith('subject-') && kids.has(e.stream.slice('subject-'.length))) ||
      sealedKids(e.data).some((k) => kids.has(k));
    if (mine) events.push(e);
  }
  const ids = (prefix: string) => [...new Set(events.filter((e) => e.stream.startsWith(prefix)).map((e) => e.stream.slice(prefix.length)))];
  // One request at a time: a subject with thousands of calls must not spend the key's rate limit at once.
  const tasks: SubjectExport['tasks'] = [];
  const seen = new Set(events.map((e) => e.id));
  for (const id of ids('task-')) {
    tasks.push(await patiently(() => client.tasks.get(id), sleep));
    // The rest of the task's trail: its worker's events (the actor is the worker, not the subject).
    for await (const e of client.tasks.allEvents(id, { limit: 1000 })) if (!seen.has(e.id)) (seen.add(e.id), events.push(e));
  }
  events.sort((a, b) => a.position - b.position);
  const callIds = new Set([...ids('toolcall-'), ...tasks.flatMap((t) => t.steps.flatMap((s) => (s.toolCallId ? [s.toolCallId] : [])))]);
  const toolCalls: SubjectExport['toolCalls'] = [];
  for (const id of callIds) toolCalls.push(await patiently(() => client.toolCalls.get(id), sleep));
  return { format: 'openmcp-subject-export/1', subject, exportedAt: now().toISOString(), keys, events, tasks, toolCalls };
}
