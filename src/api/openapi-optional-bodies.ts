type Operation = { requestBody?: { required?: boolean; content?: Record<string, { schema?: { nullable?: boolean } }> } };
type OpenApiDocument = { paths?: Record<string, Record<string, Operation> | undefined> };

/**
 * A route whose body schema is nullish (a cancel's `{reason}`) takes a request without a body,
 * but @fastify/swagger marks every body `required: true`, so a client generated from /docs would
 * have to send one. Marks such bodies optional, in place.
 * @example app.register(swagger, { openapi, transformObject: ({ openapiObject }) => optionalBodies(openapiObject) })
 */
export function optionalBodies<T extends object>(doc: T): T {
  for (const ops of Object.values((doc as OpenApiDocument).paths ?? {})) {
    for (const op of Object.values(ops ?? {})) {
      const body = op.requestBody;
      if (body?.content && Object.values(body.content).every((c) => c.schema?.nullable === true)) body.required = false;
    }
  }
  return doc;
}
