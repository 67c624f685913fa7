import type { FastifyReply } from 'fastify';
import { z } from 'zod';

/** RFC 9457 problem details, with our stable `code` (docs/errors.md). */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  code: z.string(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  field: z.string().optional(),
  requestId: z.string().optional(),
  retryAfterSeconds: z.number().int().optional(),
  /** API_KEY_ALREADY_ISSUED, IDEMPOTENCY_KEY_REUSED on POST /v1/keys: the key its Idempotency-Key issued. */
  keyId: z.string().optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function problemOf(status: number, code: string, detail: string, extra: Partial<Problem> = {}): Problem {
  return {
    type: `https://openmcp.dev/errors#${code.toLowerCase()}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    ...extra,
  };
}

/**
 * Send a problem as a pre-serialized string, so route response schemas (zod serializers for
 * 2xx) never touch it and a serializer mismatch can never turn a 4xx into a 500. A 401 carries
 * `WWW-Authenticate: Bearer`, a problem with `retryAfterSeconds` a `Retry-After`.
 */
export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  // RFC 9110 §15.5.2: a 401 must name the scheme it takes; clients that answer challenges need it.
  if (problem.status === 401) reply.header('www-authenticate', 'Bearer');
  if (problem.retryAfterSeconds !== undefined) reply.header('retry-after', String(problem.retryAfterSeconds));
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}
