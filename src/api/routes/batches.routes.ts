import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFoundError, UnavailableError } from '../../core/errors';
import type { AppDeps } from '../deps';
import { principalOf } from '../context';
import { ForbiddenError } from '../errors';
import { ProblemSchema } from '../problem';
import { BatchEvents, BatchIdParams, BatchListQuery, BatchPage, BatchView } from '../schemas/batches';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 429: ProblemSchema, 503: ProblemSchema };

/**
 * Merkle batches. Heads hold only roots, so any tenant's auditors may read them; the event export
 * spans every tenant and is for cross-tenant principals only.
 */
export function batchesRoutes(deps: AppDeps): FastifyPluginAsync {
  const proofs = () => {
    if (!deps.proofs) throw new UnavailableError('proofs', 'the proofs service is not running in this process');
    return deps.proofs;
  };
  return async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get('/batches', {
      config: { permission: 'proofs:read' },
      schema: { tags: ['batches'], operationId: 'listBatches', summary: 'Sealed batches, newest first (cursor pagination)', querystring: BatchListQuery, response: { 200: BatchPage, ...problems } },
    }, async (request) => proofs().listBatches(request.query));

    app.get('/batches/:id', {
      config: { permission: 'proofs:read' },
      schema: { tags: ['batches'], operationId: 'getBatch', summary: 'One batch head with its anchor', params: BatchIdParams, response: { 200: BatchView, ...problems } },
    }, async (request) => {
      const b = await proofs().getBatch(request.params.id);
      if (!b) throw new NotFoundError('batch', String(request.params.id));
      return b;
    });

    app.get('/batches/:id/events', {
      config: { permission: 'batches:export' },
      schema: { tags: ['batches'], operationId: 'exportBatchEvents', summary: "A batch's events, enough to re-derive its root", params: BatchIdParams, response: { 200: BatchEvents, ...problems } },
    }, async (request) => {
      if (!principalOf(request).crossTenant) throw new ForbiddenError('the batch export holds every tenant\'s events: cross-tenant principals only');
      const b = await proofs().getBatchEvents(request.params.id);
      if (!b) throw new NotFoundError('batch', String(request.params.id));
      return b;
    });
  };
}
