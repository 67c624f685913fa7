import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { OpenMcpError } from '../core/errors';
import { problemOf, sendProblem, type Problem } from './problem';
import { allowedMethods } from './allowed-methods';
import { isMcpUrl, mcpRefusal } from './mcp-refusal';

type Validation = { instancePath: string; message: string; keyword: string; params: Record<string, unknown> };

/** Fastify's own request errors, mapped to our stable codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'MALFORMED_REQUEST' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'MALFORMED_JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'MALFORMED_JSON' },
  FST_ERR_BAD_URL: { status: 400, code: 'MALFORMED_REQUEST' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'MALFORMED_REQUEST' },
};

function fieldOf(context: string | undefined, v: Validation): string {
  const path = v.instancePath.split('/').filter(Boolean);
  if (v.keyword === 'unrecognized_keys' && Array.isArray(v.params.keys)) path.push(String(v.params.keys[0]));
  return [context ?? 'body', ...path].join('.');
}

/** The parameters a route's query schema takes, for an unknown one's answer ("" when not an object schema). */
function queryFieldsOf(request: FastifyRequest): string {
  const shape = (request.routeOptions?.schema?.querystring as { shape?: unknown } | undefined)?.shape;
  if (!shape || typeof shape !== 'object') return '';
  const names = Object.keys(shape);
  return names.length > 0 ? `; this route takes ${names.join(', ')}` : '; this route takes no query parameters';
}

/** The media type of a Content-Type header (no parameters), as printable ASCII of at most 100 characters, for an answer to name. */
function mediaTypeOf(header: string | undefined): string {
  const type = (header ?? '').split(';')[0].trim().replace(/[^\x21-\x7e]/g, '?');
  if (!type) return 'a body without a media type';
  return type.length > 100 ? `${type.slice(0, 100)}…` : type;
}

/** Turn any thrown error into a problem; never a stack trace, never a secret, 5xx only for our own faults. */
export function toProblem(err: unknown, request: FastifyRequest): Problem {
  const requestId = String(request.id);
  if (hasZodFastifySchemaValidationErrors(err)) {
    const v = (err as unknown as { validation: Validation[] }).validation[0];
    const context = (err as { validationContext?: string }).validationContext;
    const field = fieldOf(context, v);
    // No query parameter takes a list: a repeated one (?status=a&status=b, parsed as an array)
    // is named as such rather than as a type mismatch.
    const given = context === 'querystring' ? (request.query as Record<string, unknown> | undefined)?.[v.instancePath.split('/')[1] ?? ''] : undefined;
    const unknown = `unknown field${context === 'querystring' && v.instancePath.split('/').filter(Boolean).length === 0 ? queryFieldsOf(request) : ''}`;
    const what = v.keyword === 'unrecognized_keys' ? unknown : Array.isArray(given) ? `given ${given.length} times; give it once` : v.message;
    return problemOf(400, 'VALIDATION_FAILED', `${field}: ${what}`, { field, requestId });
  }
  if (err instanceof OpenMcpError) {
    // Our own faults keep their code (for the errors metric and the catalogue) but not their
    // message, which may name internals; dependency failures (502/503/504) say what failed.
    if (err.status === 500 || err.status < 400 || err.status > 599) {
      return problemOf(500, err.status === 500 ? err.code : 'INTERNAL', 'internal error; see the server log for this request id', { requestId });
    }
    const field = typeof err.details?.field === 'string' ? err.details.field : undefined;
    const retry = err.details?.retryAfterSeconds;
    const keyId = err.details?.keyId;
    return problemOf(err.status, err.code, err.message, {
      requestId,
      ...(field ? { field } : {}),
      ...(typeof keyId === 'string' ? { keyId } : {}),
      ...(typeof retry === 'number' ? { retryAfterSeconds: Math.max(1, Math.ceil(retry)) } : {}),
    });
  }
  const fe = err as FastifyError;
  const mapped = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  // fastify's own words ("Unsupported Media Type", "Request body is too large") say neither what
  // was sent nor what is taken: these two name it, as a client fixing its request needs.
  if (mapped?.code === 'UNSUPPORTED_MEDIA_TYPE') {
    const field = 'headers.content-type';
    return problemOf(mapped.status, mapped.code, `${field}: ${mediaTypeOf(request.headers['content-type'])} is not accepted; send the body as application/json`, { field, requestId });
  }
  if (mapped?.code === 'PAYLOAD_TOO_LARGE') {
    const limit = request.routeOptions?.bodyLimit;
    const size = typeof limit === 'number' ? ` over ${limit} bytes${limit % 1_048_576 === 0 ? ` (${limit / 1_048_576} MiB)` : ''},` : ' over';
    return problemOf(mapped.status, mapped.code, `body:${size} the limit of a request body`, { field: 'body', requestId });
  }
  // fastify's words quote the whole over-long path.
  if (mapped?.status === 414) return problemOf(414, mapped.code, 'a path segment over 500 characters (no id is that long)', { requestId });
  // The body as a whole is what MALFORMED_JSON refuses (docs/errors.md: field names the input).
  if (mapped?.code === 'MALFORMED_JSON') return problemOf(mapped.status, mapped.code, fe.message, { field: 'body', requestId });
  if (mapped) return problemOf(mapped.status, mapped.code, fe.message, { requestId });
  if (err instanceof SyntaxError && fe.statusCode === 400) {
    return problemOf(400, 'MALFORMED_JSON', `request body is not valid JSON: ${err.message}`, { field: 'body', requestId });
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return problemOf(fe.statusCode, 'MALFORMED_REQUEST', fe.message, { requestId });
  }
  return problemOf(500, 'INTERNAL', 'internal error; see the server log for this request id', { requestId });
}

export type ErrorObserver = (code: string, status: number) => void;

/**
 * Unmatched routes have no route hooks; `onUnmatched` records their latency. A path some route
 * serves, asked with another method, is 405 `METHOD_NOT_ALLOWED` with `Allow` (allowedMethods:
 * from the routes registered, so call this before adding them); any other is 404
 * `ROUTE_NOT_FOUND`. Both before any key is checked, as no route's hooks run: what a path serves
 * is public (/docs), and such a request reads, counts and appends nothing.
 */
export function installErrorHandler(
  app: FastifyInstance,
  onError: ErrorObserver = () => {},
  onUnmatched: (method: string, status: number, seconds: number) => void = () => {},
): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(err, request);
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: problem.code, status: problem.status }, problem.detail);
    onError(problem.code, problem.status);
    return sendProblem(reply, problem);
  });
  const allowed = allowedMethods(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0].slice(0, 200);
    const methods = allowed(request.url);
    // No route's hooks ran (they set no-store under /v1 and /ui/api): a 404 is cacheable by default.
    reply.header('x-request-id', request.id).header('cache-control', 'no-store');
    const requestId = String(request.id);
    if (methods.length === 0 || methods.includes(request.method)) {
      onError('ROUTE_NOT_FOUND', 404);
      onUnmatched(request.method, 404, reply.elapsedTime / 1000);
      return sendProblem(reply, problemOf(404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${path}`, { requestId }));
    }
    onError('METHOD_NOT_ALLOWED', 405);
    onUnmatched(request.method, 405, reply.elapsedTime / 1000);
    const detail = `${request.method} is not served at ${path}; it takes ${methods.join(', ')}`;
    reply.header('allow', methods.join(', '));
    if (isMcpUrl(request.url)) return reply.code(405).type('application/json').send(mcpRefusal('METHOD_NOT_ALLOWED', detail));
    return sendProblem(reply, problemOf(405, 'METHOD_NOT_ALLOWED', detail, { requestId }));
  });
}
