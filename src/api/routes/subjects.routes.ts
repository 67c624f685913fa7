import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { eraseSubjectKey } from '../../auth/erase-subject-key';
import type { AppDeps } from '../deps';
import { principalOf } from '../context';
import { NotImplementedError } from '../errors';
import { fieldIn } from '../field-in';
import { ProblemSchema } from '../problem';
import { NoContent } from '../schemas/common';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 429: ProblemSchema, 503: ProblemSchema };

const SubjectParams = z.strictObject({
  subject: z.string().min(1).max(400).describe('`<tenant>:<user|agent|system>:<actor id>` (URL-encoded), as docs/security.md "Erasure" defines it'),
});

/** Data subjects (MCP_PAYLOAD_POLICY=encrypted): erase one's key. Admins of its tenant, or cross-tenant ones. */
export function subjectsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.delete('/subjects/:subject/key', {
      config: { permission: 'keys:manage' },
      schema: {
        tags: ['subjects'],
        operationId: 'eraseSubjectKey',
        summary: "Erase a data subject's key (crypto-erasure)",
        description:
          'Deletes the data key of the subject: every tool-call payload recorded encrypted for it (MCP_PAYLOAD_POLICY=encrypted) ' +
          'can no longer be read, and GET /v1/tool-calls shows it as erased (`argumentsErased`, `resultErased`), while the events, ' +
          'their hashes and proofs stay valid. Recorded as SubjectKeyErased on `subject-<kid>`. Idempotent: 204 again for a subject ' +
          'already erased; 404 SUBJECT_NOT_FOUND for one that never had a key.',
        params: SubjectParams,
        response: { 204: NoContent, ...problems, 501: ProblemSchema },
      },
    }, async (request, reply) => {
      if (!deps.subjectKeys) throw new NotImplementedError('subject key erasure');
      await eraseSubjectKey({ store: deps.store, subjectKeys: deps.subjectKeys, clock: deps.clock }, principalOf(request), request.params.subject, String(request.id)).catch((err: unknown) => {
        throw fieldIn('params', err);
      });
      return reply.code(204).send(null);
    });
  };
}
