import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { changeApiKeyAgents, createApiKey, keyView, revokeApiKey, type KeyServiceDependencies } from '../../auth/key-service';
import { isUuid } from '../../core/ids';
import type { AppDeps } from '../deps';
import { principalOf } from '../context';
import { decodeCursor, encodeCursor } from '../cursor';
import { ForbiddenError } from '../errors';
import { ApiKeyAlreadyIssuedError } from '../../auth/errors';
import { idempotencyKeyHeaders, onlyOneIdempotencyKey } from '../idempotency-key-header';
import { ProblemSchema } from '../problem';
import { NoContent } from '../schemas/common';
import { UuidParams } from '../schemas/common';
import { CreateKeyBody, CreatedKey, KeyListQuery, KeyPage, KeyView, SetKeyAgentsBody } from '../schemas/keys';

const reads = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 429: ProblemSchema };
const problems = { ...reads, 409: ProblemSchema };

/** The optional `Idempotency-Key` header of POST /v1/keys (shown in /docs). */
const IssueKeyHeaders = idempotencyKeyHeaders('Makes a retried POST issue no second key: 409 API_KEY_ALREADY_ISSUED names the key issued (docs/security.md, "API keys")');

/** API keys: issue (the only time a key is shown), list (never the key or its hash), change the agents a key may act as, revoke. Admins only. */
export function keysRoutes(deps: AppDeps, keyDeps: KeyServiceDependencies): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.post('/keys', {
      config: { permission: 'keys:manage' },
      preValidation: onlyOneIdempotencyKey,
      schema: {
        tags: ['keys'],
        operationId: 'createKey',
        summary: 'Issue an API key (shown once)',
        description:
          'A tenant holds at most MAX_API_KEYS_PER_TENANT active (unrevoked) keys (default 100; the bootstrap admin key is not counted): ' +
          'beyond, 409 API_KEY_LIMIT and nothing is stored or recorded. Revoke a key to free its place. ' +
          'The key is returned only once ApiKeyCreated is recorded; a failure before (503) hands nothing out, and the key generated never authenticates. ' +
          'With an Idempotency-Key (scoped to your tenant, as on POST /v1/tasks) a retry whose first answer was lost issues no second key: ' +
          'the secret is shown once, in the first answer, and kept nowhere, so the retry is 409 API_KEY_ALREADY_ISSUED with the key\'s id (`keyId`) ' +
          'and Idempotent-Replayed: true; revoke that key if its secret was lost. The same key with another body is 422 IDEMPOTENCY_KEY_REUSED; ' +
          'a first request that failed (503) issued nothing, and its retry issues the key.',
        headers: IssueKeyHeaders,
        body: CreateKeyBody,
        response: {
          201: CreatedKey,
          ...problems,
          409: ProblemSchema.describe(
            'API_KEY_LIMIT: the tenant holds as many active keys as MAX_API_KEYS_PER_TENANT allows; API_KEY_ALREADY_ISSUED: this Idempotency-Key issued the key `keyId` already ' +
              '(its secret is never shown again); IDEMPOTENCY_KEY_IN_USE: a request with this Idempotency-Key is still issuing its key (Retry-After)',
          ),
          422: ProblemSchema.describe('IDEMPOTENCY_KEY_REUSED: this Idempotency-Key issued a key for another body'),
          503: ProblemSchema.describe('DEPENDENCY_UNAVAILABLE: the database or the event store failed, or recording the key took longer than 5 min: no key was issued'),
        },
      },
    }, async (request, reply) => {
      const idempotencyKey = request.headers['idempotency-key'];
      const created = await createApiKey(keyDeps, principalOf(request), { ...request.body, correlationId: String(request.id), idempotencyKey }).catch((err: unknown) => {
        if (err instanceof ApiKeyAlreadyIssuedError) reply.header('idempotent-replayed', 'true');
        throw err;
      });
      return reply.code(201).header('cache-control', 'no-store').send({ ...created.record, key: created.key });
    });

    app.get('/keys', {
      config: { permission: 'keys:manage' },
      schema: { tags: ['keys'], operationId: 'listKeys', summary: 'List API keys (never the keys themselves)', querystring: KeyListQuery, response: { 200: KeyPage, ...reads } },
    }, async (request) => {
      const p = principalOf(request);
      const q = request.query;
      if (q.tenant !== undefined && q.tenant !== p.tenant && !p.crossTenant) throw new ForbiddenError(`keys of tenant ${q.tenant} are outside your tenant`, { field: 'querystring.tenant' });
      const tenant = q.tenant ?? (p.crossTenant ? null : p.tenant);
      const afterId = q.cursor !== undefined ? String(decodeCursor('keys', q.cursor, isUuid)) : undefined;
      // One more than the page, so a full last page is known to be the last (no cursor to an empty page).
      const rows = await deps.keys.list({ tenant, limit: q.limit + 1, afterId });
      const items = rows.slice(0, q.limit).map(keyView);
      const last = items[items.length - 1];
      return { items, ...(last && rows.length > q.limit ? { nextCursor: encodeCursor('keys', last.id) } : {}) };
    });

    app.patch('/keys/:id', {
      config: { permission: 'keys:manage' },
      schema: {
        tags: ['keys'],
        operationId: 'setKeyAgents',
        summary: 'Change the agents an API key may act as',
        description:
          'The whole new list (`agents`, 1 to 100 distinct agent ids), or null for any agent of its tenant. Recorded as ' +
          'ApiKeyAgentsChanged and applied to the next request made with the key. The list the key has already (in any order) ' +
          'records nothing and answers the key as it is, so a repeated request is safe.',
        params: UuidParams,
        body: SetKeyAgentsBody,
        response: { 200: KeyView, 503: ProblemSchema, ...problems },
      },
    }, async (request) => changeApiKeyAgents(keyDeps, principalOf(request), request.params.id, request.body.agents, String(request.id)));

    app.delete('/keys/:id', {
      config: { permission: 'keys:manage' },
      schema: { tags: ['keys'], operationId: 'revokeKey', summary: 'Revoke an API key', params: UuidParams, response: { 204: NoContent, 503: ProblemSchema, ...problems } },
    }, async (request, reply) => {
      await revokeApiKey(keyDeps, principalOf(request), request.params.id, String(request.id));
      return reply.code(204).send(null);
    });
  };
}
