import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { eraseSubjectKey } from '../../auth/erase-subject-key';
import { subjectOfEvents } from '../../auth/subject-events';
import { subjectRecord } from '../../auth/subject-record';
import type { AppDeps } from '../deps';
import { principalOf } from '../context';
import { NotImplementedError } from '../errors';
import { fieldIn } from '../field-in';
import { ProblemSchema } from '../problem';
import { NoContent } from '../schemas/common';
import { decodeCursor, encodeCursor, isPosition } from '../cursor';
import { SubjectEventPage, SubjectEventsQuery, SubjectRecord } from '../schemas/subjects';
import { openTaskView } from '../../readmodels/open-task-view';
import { openToolCallView } from '../../readmodels/open-tool-call-view';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 429: ProblemSchema, 503: ProblemSchema };

const SubjectParams = z.strictObject({
  subject: z.string().min(1).max(400).describe('`<tenant>:<user|agent|system>:<actor id>` (URL-encoded), as docs/security.md "Erasure" defines it'),
});

/** Data subjects: erase one's key, tell its keys and their erasures (MCP_PAYLOAD_POLICY=encrypted), list its events. Admins of its tenant, or cross-tenant ones. */
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
          'their hashes and proofs stay valid. Recorded as SubjectKeyErased on `subject-<kid>`. Then the subject\'s model turns ' +
          '(InferenceCompleted v8) are taken out of the LLM response cache; should that fail, the key is erased and recorded all the same ' +
          'and the answer is 503 DEPENDENCY_UNAVAILABLE saying so: send it again. Idempotent: 204 again for a subject ' +
          'already erased; 404 SUBJECT_NOT_FOUND for one that never had a key.',
        params: SubjectParams,
        response: { 204: NoContent, ...problems, 501: ProblemSchema },
      },
    }, async (request, reply) => {
      if (!deps.subjectKeys) throw new NotImplementedError('subject key erasure');
      const listSealedTurns = deps.readModels.listSealedTurns?.bind(deps.readModels);
      const waitForPosition = deps.readModels.waitForPosition.bind(deps.readModels);
      const indexedThrough = deps.readModels.subjectIndexedThrough?.bind(deps.readModels);
      const cachedTurns = listSealedTurns ? { cache: deps.cache, listSealedTurns, waitForPosition, indexedThrough, waitMs: deps.readYourWritesMs ?? 2_000 } : undefined;
      await eraseSubjectKey({ store: deps.store, subjectKeys: deps.subjectKeys, clock: deps.clock, cachedTurns, logger: request.log }, principalOf(request), request.params.subject, String(request.id)).catch((err: unknown) => {
        throw fieldIn('params', err);
      });
      return reply.code(204).send(null);
    });

    app.get('/subjects/:subject', {
      config: { permission: 'keys:manage' },
      schema: {
        tags: ['subjects'],
        operationId: 'getSubject',
        summary: "A data subject's keys and their erasures",
        description:
          'Every data key the subject has had (MCP_PAYLOAD_POLICY=encrypted), oldest first, never the key itself: when it was made, ' +
          'when erased (`erasedAt`), and the SubjectKeyErased event that records the erasure (`erasure.eventId`, whose proof ' +
          'GET /v1/events/:id/proof gives). An erased key without `erasure` is not recorded yet: DELETE the key again. ' +
          '404 SUBJECT_NOT_FOUND for a subject that never had a key.',
        params: SubjectParams,
        response: { 200: SubjectRecord, ...problems, 501: ProblemSchema },
      },
    }, async (request) => {
      if (!deps.subjectKeys) throw new NotImplementedError('subject key records');
      return subjectRecord({ store: deps.store, subjectKeys: deps.subjectKeys }, principalOf(request), request.params.subject).catch((err: unknown) => {
        throw fieldIn('params', err);
      });
    });

    app.get('/subjects/:subject/events', {
      config: { permission: 'keys:manage' },
      schema: {
        tags: ['subjects'],
        operationId: 'listSubjectEvents',
        summary: "A data subject's events (an access request)",
        description:
          'The events of the subject\'s tenant whose `actor` is the subject, those of its own API key\'s stream (`apikey-<actor id>`), ' +
          'those whose sealed payloads carry one of its data keys (`kid`: a task\'s tool calls, made by a worker on its behalf) and the ' +
          'SubjectKeyErased of those keys, each once, in position order, read from the subject index (not the whole log). ' +
          'Not the rest of its tasks\' trails: GET /v1/tasks/:id/events. `after`, `limit`, cursors and the page\'s end as GET /v1/events ' +
          '(docs/architecture.md, "Lists and cursors"); a page that ends at a hold, with events of the log past it not listed yet, says so in `held` ' +
          '(ask again from `held.cursor`: an export that stopped there would miss them). A subject that never had a key lists what it caused. ' +
          'Admins of the subject\'s tenant, or cross-tenant ones. ' +
          '`include=details` (2026-12-11): the page also holds what an export needs of the tasks and tool calls its events are about, ' +
          'so that it costs a request per page rather than one per task and call: `tasks` (each task of the key\'s tenant with an event ' +
          'of the page in its stream, as GET /v1/tasks/:id shows it), `taskEvents` (every event of those tasks\' streams, as ' +
          'GET /v1/tasks/:id/events lists them) and `toolCalls` (each call of the key\'s tenant with an event of the page in its stream, ' +
          'and each step call of those tasks, as GET /v1/tool-calls/:id shows it): payloads opened while their subject\'s key lives, ' +
          '`…Erased` after. Each task and call goes with the page of the subject\'s first event in its stream (a step call with its task\'s), ' +
          'not again with later pages: a list begun part-way (`after`, a cursor) holds none named before it. A task or call not applied yet, ' +
          'or of another tenant than the key\'s, is left out (those routes answer 404 for it). The page then ends, with `nextCursor`, before ' +
          'the event whose body and the details it adds first would take it past 16 MiB (never empty); a first event whose details alone ' +
          'would is sent without them (ask their own routes, which page them): follow nextCursor rather than comparing the page with limit. ' +
          'A page cut by that bound has `nextCursor`, never `held`; a held page\'s `held.cursor` is after the last event it holds.',
        params: SubjectParams,
        querystring: SubjectEventsQuery,
        response: { 200: SubjectEventPage, ...problems, 501: ProblemSchema },
      },
    }, async (request) => {
      const list = deps.readModels.listSubjectEvents?.bind(deps.readModels);
      if (!list) throw new NotImplementedError("a subject's events");
      const q = request.query;
      const by = principalOf(request);
      const after = q.cursor !== undefined ? Number(decodeCursor('subject-events', q.cursor, isPosition)) : q.after;
      const inParams = (err: unknown) => {
        throw fieldIn('params', err);
      };
      const { tenant, ...subject } = await subjectOfEvents({ subjectKeys: deps.subjectKeys }, by, request.params.subject).catch(inParams);
      const page = await list(tenant, { ...subject, after, limit: q.limit }).catch(inParams);
      const cursorAfter = (items: typeof page.items, more: boolean) => {
        const last = items[items.length - 1];
        return last && more ? { nextCursor: encodeCursor('subject-events', last.position) } : {};
      };
      // Held (a page ending at a hold has no nextCursor): where to ask again from, after the last
      // event the answer holds (else where this page began).
      const heldAfter = (items: typeof page.items) => {
        if (!page.held) return {};
        const from = items[items.length - 1]?.position ?? after;
        return { held: { ...page.held, ...(from !== undefined && from >= 0 ? { cursor: encodeCursor('subject-events', from) } : {}) } };
      };
      if (q.include !== 'details') return { items: page.items, ...cursorAfter(page.items, page.nextCursor !== undefined), ...heldAfter(page.items) };
      const details = deps.readModels.subjectDetails?.bind(deps.readModels);
      if (!details) throw new NotImplementedError("the details of a subject's events");
      // The key's own tenant, as GET /v1/tasks/:id and /v1/tool-calls/:id read them.
      // Those the subject named before `after` went with the pages before (docs/architecture.md, "Lists and cursors").
      const d = page.items.length ? await details(by.tenant, page.items, { ...subject, after }) : { taken: 0, tasks: [], taskEvents: [], toolCalls: [] };
      const items = page.items.slice(0, d.taken);
      // Cut by the details' size: the rest follows with nextCursor, so not held (the hold comes after them).
      const cut = d.taken < page.items.length;
      return {
        items,
        ...cursorAfter(items, page.nextCursor !== undefined || cut),
        ...(cut ? {} : heldAfter(items)),
        tasks: await Promise.all(d.tasks.map((t) => openTaskView(deps.subjectKeys, t))),
        taskEvents: d.taskEvents,
        toolCalls: await Promise.all(d.toolCalls.map((c) => openToolCallView(deps.subjectKeys, c))),
      };
    });
  };
}
