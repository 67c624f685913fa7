import { z } from 'zod';
import { Timestamp } from './common';

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
