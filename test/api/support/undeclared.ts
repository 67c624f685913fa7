type Schema = { properties?: Record<string, unknown>; items?: unknown };

/**
 * The paths of the object keys in `value` that `schema` (an OpenAPI schema from /docs) does not
 * name in its `properties`, nested objects and arrays included: what a client generated from
 * /docs, or typed by the SDK's schemas, would not know it is sent. Free-form values (a schema
 * without properties, such as a task's `output`) are not looked into.
 * @example expect(undeclared(res.json(), doc.paths['/v1/batches/{id}'].get.responses['200'].content['application/json'].schema)).to.deep.equal([])
 */
export function undeclared(value: unknown, schema: Schema | undefined, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => undeclared(v, schema?.items as Schema | undefined, `${at}${i}.`));
  if (value === null || typeof value !== 'object' || !schema?.properties) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const sub = schema.properties![k] as Schema | undefined;
    return sub ? undeclared(v, sub, `${at}${k}.`) : [`${at}${k}`];
  });
}

/** The 2xx JSON schema of `method path` in an OpenAPI document. */
export function responseSchema(doc: { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>> }, method: string, path: string, status = '200'): Schema {
  return doc.paths[path][method].responses[status].content!['application/json'].schema;
}
