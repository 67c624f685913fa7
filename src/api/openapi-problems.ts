import { PROBLEM_CONTENT_TYPE } from './problem';

type Responses = Record<string, { content?: Record<string, unknown> }>;
type OpenApiDocument = { paths?: Record<string, Record<string, { responses?: Responses }> | undefined> };

/**
 * Error answers are sent as application/problem+json (sendProblem), but the route schemas give
 * their ProblemSchema as a plain response, which the document lists under application/json: a
 * client generated from /docs would then look for the problem under the wrong media type. Moves
 * every 4xx/5xx response's content there, in place; 2xx answers are left alone.
 * @example app.register(swagger, { openapi, transformObject: ({ openapiObject }) => problemContentTypes(openapiObject) })
 */
export function problemContentTypes<T extends object>(doc: T): T {
  for (const ops of Object.values((doc as OpenApiDocument).paths ?? {})) {
    for (const op of Object.values(ops ?? {})) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const json = response.content?.['application/json'];
        if (Number(status) < 400 || json === undefined) continue;
        response.content = { [PROBLEM_CONTENT_TYPE]: json };
      }
    }
  }
  return doc;
}
