import { QueryInt } from '../api/schemas/common';
import { ValidationError } from '../core/errors';

const FIELD = 'querystring.after';
/** -1 is the position of a hub that has announced nothing yet (an empty log), which a page may echo. */
const After = QueryInt(-1, Number.MAX_SAFE_INTEGER).optional();

/**
 * The `after` of `/ui/api/stream?after=` (the last position a reconnecting page saw), or
 * undefined without one. Anything else is a 400 VALIDATION_FAILED naming `querystring.after`, as
 * the /v1 integer query parameters are (QueryInt): a malformed one was ignored, and its page
 * silently missed what it asked to hear.
 * @example streamAfter('41') // 41; streamAfter('1e3') throws 'querystring.after: an integer in decimal digits, …'
 */
export function streamAfter(given: string | string[] | undefined): number | undefined {
  if (Array.isArray(given)) throw new ValidationError(`${FIELD}: given ${given.length} times; give it once`, { field: FIELD });
  const parsed = After.safeParse(given);
  if (!parsed.success) throw new ValidationError(`${FIELD}: ${parsed.error.issues[0].message}`, { field: FIELD });
  return parsed.data;
}
