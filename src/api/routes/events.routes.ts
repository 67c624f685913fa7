import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { NotFoundError, UnavailableError } from '../../core/errors';
import { readScope } from '../../auth/principal';
import type { AppDeps } from '../deps';
import { principalOf } from '../context';
import { decodeCursor, encodeCursor, isPosition } from '../cursor';
import { ProblemSchema } from '../problem';
import { UuidParams } from '../schemas/common';
import { AuditEventView, EventPage, EventsQuery, ProofFile } from '../schemas/events';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 429: ProblemSchema };

/** The event log as auditors read it, and proofs of inclusion. Tenant-scoped unless the caller is cross-tenant. */
export function eventsRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get('/events', {
      config: { permission: 'events:read' },
      schema: {
        tags: ['events'],
        operationId: 'listEvents',
        summary: 'The event log, filtered (position order)',
        description:
          'A page ends before the first event of the log the read model has not applied yet (a lagging Kafka partition), on the SQL event store and on KurrentDB, ' +
          'without nextCursor: follow nextCursor, or poll with after=<last position seen>, and no event is passed over. ' +
          'An event the bus never delivers holds it for PROJECTION_GAP_REPAIR_MS (5 minutes by default), then is read from the event store. ' +
          'A list of one stream is not held (docs/architecture.md, "Lists and cursors"). ' +
          'A page also ends, with nextCursor, before the event that would take it past 16 MiB of event bodies (never empty): follow nextCursor rather than comparing the page with limit.',
        querystring: EventsQuery,
        response: { 200: EventPage, ...problems },
      },
    }, async (request) => {
      const q = request.query;
      const after = q.cursor !== undefined ? Number(decodeCursor('events', q.cursor, isPosition)) : q.after;
      const page = await deps.readModels.listAuditEvents(readScope(principalOf(request)), { stream: q.stream, type: q.type, after, limit: q.limit });
      const last = page.items[page.items.length - 1];
      // Position order: the read model stops a page before an event not yet applied (a lagging
      // Kafka partition), on either store, so what lands later lands after the cursor.
      return { items: page.items, ...(last && page.nextCursor !== undefined ? { nextCursor: encodeCursor('events', last.position) } : {}) };
    });

    app.get('/events/:id', {
      config: { permission: 'events:read' },
      schema: { tags: ['events'], operationId: 'getEvent', summary: 'One event, with its audit seq and batch once sealed', params: UuidParams, response: { 200: AuditEventView, ...problems } },
    }, async (request) => {
      const e = await deps.readModels.getAuditEvent(readScope(principalOf(request)), request.params.id);
      if (!e) throw new NotFoundError('event', request.params.id);
      return e;
    });

    app.get('/events/:id/proof', {
      config: { permission: 'proofs:read' },
      schema: {
        tags: ['events'],
        operationId: 'getEventProof',
        summary: 'The openmcp-proof/1 file of an event (409 PROOF_PENDING with Retry-After until anchored)',
        params: UuidParams,
        response: { 200: ProofFile, 409: ProblemSchema, 503: ProblemSchema, ...problems },
      },
    }, async (request) => {
      if (!deps.proofs) throw new UnavailableError('proofs', 'the proofs service is not running in this process');
      return deps.proofs.getProof(readScope(principalOf(request)), request.params.id);
    });
  };
}
