import type { preValidationHookHandler } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../core/errors';
import { IDEMPOTENCY_KEY } from '../domain/task/idempotent-task-id';

/**
 * The optional `Idempotency-Key` header of a POST that creates something (shown in /docs): one
 * printable-ASCII string of 1 to 255 characters. `what`: what a retry gets, for its description.
 */
export function idempotencyKeyHeaders(what: string) {
  return z.looseObject({
    'idempotency-key': z.string().regex(IDEMPOTENCY_KEY, '1 to 255 printable ASCII characters').optional().describe(what),
  });
}

/**
 * Node joins repeated headers it does not know into one value ("a, b"), which the key's pattern
 * takes: two Idempotency-Key headers (a proxy adding its own, a client setting it twice) would name
 * a third key, and a new task or API key. Refused as a query parameter given twice is.
 */
export const onlyOneIdempotencyKey: preValidationHookHandler = (request, _reply, done) => {
  const raw = request.raw.rawHeaders ?? [];
  let given = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === 'idempotency-key') given++;
  if (given > 1) return done(new ValidationError(`headers.idempotency-key: given ${given} times; give it once`, { field: 'headers.idempotency-key' }));
  done();
};
