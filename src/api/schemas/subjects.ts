import { z } from 'zod';
import { Timestamp } from './common';
import { EventPage } from './events';

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

/**
 * GET /v1/subjects/:subject/events: a page of events, and `held` when it ends at a hold rather
 * than at the log's end (SubjectEventsPage): no `nextCursor` then, `held.cursor` to ask again from.
 */
export const SubjectEventPage = EventPage.extend({
  held: z
    .object({
      position: z.number().int().describe('The first position not listed yet'),
      reason: z.enum(['unapplied', 'unindexed']).describe('`unapplied`: the audit log lacks that position yet (a partition or projection behind); `unindexed`: a projector of a release before 2026-12-11 applied it without its index rows, which the projectors fill within a minute'),
      cursor: z.string().optional().describe('Where to ask again from (absent: from where this page was asked)'),
    })
    .optional()
    .describe('Present when the list ends there for now while the log has events past it: ask again (with `held.cursor`) rather than take the list as whole'),
});
