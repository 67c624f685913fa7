import { OpenMcpError } from '../core/errors';

/**
 * `err` with its `field` named where the request carried it. Services name an input as they take
 * it (`subject`, `headers.Authorization`, a stdio server's env entry), for a CLI flag or a file entry as
 * much as for a request; on the wire a field is `<body|querystring|params|headers>.<path>`
 * (docs/errors.md), and `headers.Authorization` there would name the request's own header. Errors
 * without a field, with one named so already, or with a short name the catalogue keeps (`cursor`,
 * `id`), are returned as they are.
 * @example await gateway.registerServer(p).catch((err) => { throw fieldIn('body', err); })
 */
export function fieldIn(part: 'body' | 'querystring' | 'params', err: unknown): unknown {
  const field = err instanceof OpenMcpError ? err.details?.field : undefined;
  // `headers.` is not a prefix here: a service never sees the request's headers, only a body's.
  if (!(err instanceof OpenMcpError) || typeof field !== 'string' || /^(body|querystring|params)(\.|$)|^(cursor|id)$/.test(field)) return err;
  const message = err.message.startsWith(`${field}: `) ? `${part}.${err.message}` : err.message;
  return new OpenMcpError(err.code, message, { status: err.status, cause: err, details: { ...err.details, field: `${part}.${field}` } });
}
