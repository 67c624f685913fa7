import { z } from 'zod';
import { Timestamp } from './common';
import { AuditEventView, EventPage, positionPageQuery } from './events';
import { TaskView } from './tasks';
import { ToolCallView } from './tool-calls';

/** GET /v1/subjects/:subject: the subject's data keys (src/auth/subject-record.ts), never a key itself. */
export const SubjectRecord = z.object({
  subject: z.string(),
  keys: z.array(
    z.object({
      kid: z.string().describe('The key id, as `kid` in every payload sealed with it'),
      createdAt: Timestamp,
      erasedAt: Timestamp.optional().describe('When the key was deleted: its payloads can no longer be read'),
      erasure: z
        .object({ eventId: z.string(), stream: z.string(), occurredAt: Timestamp })
        .optional()
        .describe('The SubjectKeyErased event recording the erasure; GET /v1/events/:id/proof gives its proof. Absent with erasedAt: not recorded yet (DELETE the key again)'),
    }),
  ),
});

/** GET /v1/subjects/:subject/events: a page of the subject's events; `include=details` (2026-12-11) adds what an export needs of its tasks and calls. */
export const SubjectEventsQuery = positionPageQuery({
  include: z
    .literal('details')
    .optional()
    .describe(
      "`details`: the page also holds the tasks and tool calls its events are about (`tasks`, `taskEvents`, `toolCalls`), so that an export needs no request per task or call; it may then hold fewer events (within 16 MiB with them), with `nextCursor`",
    ),
});

/**
 * GET /v1/subjects/:subject/events: a page of events (with `include=details`, its tasks and calls),
 * and `held` when it ends at a hold rather than at the log's end (SubjectEventsPage): no
 * `nextCursor` then, `held.cursor` to ask again from.
 */
export const SubjectEventPage = EventPage.extend({
  tasks: z.array(TaskView).optional().describe("include=details: each task of the key's tenant that an event of the page is in (`task-<id>`), as GET /v1/tasks/:id shows it, each once, with the page of the subject's first event in its stream"),
  taskEvents: z.array(AuditEventView).optional().describe('include=details: every event of those tasks\' streams, in position order, as GET /v1/tasks/:id/events lists them (their workers\' too)'),
  toolCalls: z
    .array(ToolCallView)
    .optional()
    .describe("include=details: each tool call of the key's tenant that an event of the page is in (`toolcall-<id>`), and each step call of those tasks, as GET /v1/tool-calls/:id shows it, each once, with the page of the subject's first event in its stream or its task's"),
  held: z
    .object({
      position: z.number().int().describe('The first position not listed yet'),
      reason: z.enum(['unapplied', 'unindexed']).describe('`unapplied`: the audit log lacks that position yet (a partition or projection behind); `unindexed`: a projector of a release before 2026-12-11 applied it without its index rows, which the projectors fill within a minute'),
      cursor: z.string().optional().describe('Where to ask again from (absent: from where this page was asked)'),
    })
    .optional()
    .describe('Present when the list ends there for now while the log has events past it: ask again (with `held.cursor`) rather than take the list as whole'),
});
