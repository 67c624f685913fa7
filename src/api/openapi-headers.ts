type Header = { description: string; schema: { type: string } };
type Response = { headers?: Record<string, Header> };
type OpenApiDocument = { paths?: Record<string, Record<string, { responses?: Record<string, Response> }> | undefined> };

const text = (description: string): Header => ({ description, schema: { type: 'string' } });
const REQUEST_ID = text('The exchange\'s request id: the caller\'s x-request-id when it was a plain token, else a new one; the correlationId of any event the request appended (docs/errors.md)');
const RETRY_AFTER = text('Seconds to wait before asking again: with RATE_LIMITED (429), PROOF_PENDING and IDEMPOTENCY_KEY_IN_USE (409) and EVENT_FROM_NEWER_RELEASE (503)');
const CHALLENGE = text('Bearer: the scheme the API takes (an API key or a JWT as `Authorization: Bearer <token>`)');
const integer = (description: string): Header => ({ description, schema: { type: 'integer' } });
/** On every answer to a request whose key was known (not a 401, nor a 429 for failed authentications), on /v1 and /mcp alike. */
const RATE_LIMIT: Record<string, Header> = {
  'ratelimit-limit': integer('Requests per minute of the tighter of the key\'s and its tenant\'s windows (RATE_LIMIT_PER_KEY, RATE_LIMIT_PER_TENANT)'),
  'ratelimit-remaining': integer('Requests left in that window, this one counted; 0 on a 429'),
  'ratelimit-reset': integer('Seconds until that window resets (Retry-After on a 429)'),
};
const REPLAYED = text('"true" when the request repeated one already done (the same Idempotency-Key, a cancel of a cancelled task): nothing new was recorded (on POST /v1/keys, with API_KEY_ALREADY_ISSUED)');

/** Headers of particular answers, by `METHOD path status`. */
const SPECIFIC: Record<string, Record<string, Header>> = {
  'post /v1/tasks 202': { location: text('/v1/tasks/<id>: the task, readable at once (read-your-writes, docs/architecture.md)'), 'idempotent-replayed': REPLAYED },
  'post /v1/tasks/{id}/cancel 202': { 'idempotent-replayed': REPLAYED },
  'post /v1/keys 409': { 'idempotent-replayed': REPLAYED, 'retry-after': RETRY_AFTER },
  'get /v1/events/{id}/proof 409': { 'retry-after': RETRY_AFTER },
};
const NO_STORE = text('no-store: answers to authenticated requests are never kept by a proxy or browser cache (a new key\'s answer carries the key, shown once)');

/**
 * Declares in the OpenAPI document the response headers the API sends, which route schemas cannot
 * say: `x-request-id` and `Cache-Control: no-store` on every answer of a `/v1` route, `Retry-After` on 429 and 503,
 * `WWW-Authenticate` on 401, `RateLimit-Limit`, `-Remaining` and `-Reset` on the others, and the
 * headers of particular answers (SPECIFIC); on /mcp's GET, POST and DELETE, the RateLimit-* ones
 * (its answers are JSON-RPC, not described further). In place.
 * @example app.register(swagger, { openapi, transformObject: ({ openapiObject }) => responseHeaders(openapiObject) })
 */
export function responseHeaders<T extends object>(doc: T): T {
  for (const [path, ops] of Object.entries((doc as OpenApiDocument).paths ?? {})) {
    if (path === '/mcp') {
      for (const [method, op] of Object.entries(ops ?? {})) {
        if (method === 'options') continue;
        for (const response of Object.values(op.responses ?? {})) response.headers = { ...response.headers, ...RATE_LIMIT };
      }
    }
    if (!path.startsWith('/v1/')) continue;
    for (const [method, op] of Object.entries(ops ?? {})) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const headers: Record<string, Header> = { 'x-request-id': REQUEST_ID, 'cache-control': NO_STORE, ...(status === '429' || status === '503' ? { 'retry-after': RETRY_AFTER } : {}), ...(status === '401' ? { 'www-authenticate': CHALLENGE } : RATE_LIMIT), ...SPECIFIC[`${method} ${path} ${status}`] };
        response.headers = { ...response.headers, ...headers };
      }
    }
  }
  return doc;
}
