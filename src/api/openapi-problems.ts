import { PROBLEM_CONTENT_TYPE } from './problem';

type Response = { description?: string; content?: Record<string, unknown> };
type Operation = { requestBody?: unknown; responses?: Record<string, Response> };
type OpenApiDocument = { paths?: Record<string, Record<string, Operation> | undefined> };

/** Refused by fastify before the route, for any route that takes a body (error-handler.ts). */
const BODY_PROBLEMS: Record<string, string> = { '413': 'PAYLOAD_TOO_LARGE: body over the limit', '415': 'UNSUPPORTED_MEDIA_TYPE: a body that is not application/json' };

/** Any route with a key: authentication reads the key store, and every route a database (docs/errors.md). */
const DEPENDENCY_DOWN = 'DEPENDENCY_UNAVAILABLE: the database or the key store cannot be reached (Retry-After when known)';

/** A route whose path takes a parameter: the router refuses a segment over maxParamLength before any hook. */
const PATH_TOO_LONG = 'MALFORMED_REQUEST: a path segment over 500 characters (no id is that long), refused before the key is checked';

/** Any route: an error of ours (docs/errors.md, INTERNAL): the code is kept, the message is not. */
const INTERNAL = 'INTERNAL (or the code of the part that failed, such as KURRENTDB_FAILED): an error of ours; its message is in the server log under the request id, never in the answer';

/** Whether a response's content is ProblemSchema's: /readyz's 503 is its report, sent as application/json. */
function isProblem(content: unknown): boolean {
  const props = (content as { schema?: { properties?: Record<string, unknown> } } | undefined)?.schema?.properties;
  return !!props && ['type', 'title', 'status', 'code'].every((k) => k in props);
}

/**
 * Error answers are sent as application/problem+json (sendProblem), but the route schemas give
 * their ProblemSchema as a plain response, which the document lists under application/json: a
 * client generated from /docs would then look for the problem under the wrong media type. Moves
 * every 4xx/5xx problem response's content there, in place (2xx answers, and an error status
 * that answers another body, such as /readyz's 503, are left alone), lists 500 and 503 on every
 * operation that answers problems (an error of ours; the key store or database away), 414 on every
 * one whose path takes a parameter (over 500 characters), and 413 and 415 on every operation that takes a body, as the 400 problem. A 204 documents no content: it has
 * none, and a client generated from a document that gives it a JSON schema parses the empty body.
 * @example app.register(swagger, { openapi, transformObject: ({ openapiObject }) => problemContentTypes(openapiObject) })
 */
export function problemContentTypes<T extends object>(doc: T): T {
  for (const [path, ops] of Object.entries((doc as OpenApiDocument).paths ?? {})) {
    for (const op of Object.values(ops ?? {})) {
      const responses = op.responses ?? {};
      if (responses['204']) delete responses['204'].content;
      for (const [status, response] of Object.entries(responses)) {
        const json = response.content?.['application/json'];
        if (Number(status) < 400 || !isProblem(json)) continue;
        response.content = { [PROBLEM_CONTENT_TYPE]: json };
      }
      const problem = responses['400']?.content;
      if (!problem) continue;
      responses['500'] ??= { description: INTERNAL, content: problem };
      if (path.includes('{')) responses['414'] ??= { description: PATH_TOO_LONG, content: problem };
      responses['503'] ??= { description: DEPENDENCY_DOWN, content: problem };
      if (!op.requestBody) continue;
      for (const [status, description] of Object.entries(BODY_PROBLEMS)) responses[status] ??= { description, content: problem };
    }
  }
  return doc;
}
