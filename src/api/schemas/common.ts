import { z } from 'zod';

/**
 * A UUID as a client may write it, in either case (RFC 9562: case-insensitive on input; Swift's
 * `uuidString` is upper case), as the ids are stored: in lower case.
 */
export const Uuid = (message: string) => z.uuid(message).transform((v) => v.toLowerCase());

/** Ids in paths are UUIDs (tasks, events, keys are UUIDv7); anything else is a 400 naming `params.id`. */
export const UuidParams = z.strictObject({ id: Uuid('an id is a UUID') });

/** What /docs says of a list's `cursor` (every list's, tool calls' own included). */
export const CURSOR_DESCRIPTION = 'A cursor a previous page gave (its nextCursor), passed back unchanged with the same filters; absent: the first page';

/** The query of a route that takes no parameters: any one is 400 naming it ("this route takes no query parameters"). */
export const NoQuery = z.strictObject({});

/** Cursors are opaque base64url tokens issued by a previous page. */
export const Cursor = z.string().regex(/^[A-Za-z0-9_-]{1,1024}$/, 'a cursor from a previous page').describe(CURSOR_DESCRIPTION);

/**
 * An integer query parameter from `min` to `max`: decimal digits (`-` first where `min` is
 * negative). What z.coerce.number() also took is refused, naming the parameter: `1e2`, `0x10`,
 * ` 5`, `1.0`; an empty value (it read 0) says so. A repeated one (an array) is named as such by
 * the error handler, as for every query parameter.
 * Declared in OpenAPI as `integer` with its range. Numbers pass as they are. Give a default with
 * `.prefault(n)`: `.default(n)` works alike but is left out of the OpenAPI document.
 * @example QueryInt(1, 200).prefault(50) // ?limit=50 → 50; none → 50; ?limit=1e2 → 400 querystring.limit
 */
export const QueryInt = (min: number, max: number) =>
  z.preprocess((v, ctx) => {
    if (v === '') ctx.addIssue({ code: 'custom', message: `empty; give an integer from ${min} to ${max}, or leave it out`, input: v });
    else if (typeof v === 'string' && !/^-?[0-9]{1,20}$/.test(v)) ctx.addIssue({ code: 'custom', message: `an integer in decimal digits, from ${min} to ${max}`, input: v });
    else return typeof v === 'string' ? Number(v) : v;
    return z.NEVER;
  }, z.number().int().min(min).max(max));

export const Limit = QueryInt(1, 200).prefault(50);

/** The RFC 3339 form IsoTime takes (Z or an offset; seconds required, any fraction). */
const OFFSET_DATE_TIME = z.iso.datetime({ offset: true });

/**
 * The `%2B` form of a time whose offset's `+` a query string turned into a space
 * (`?from=…T00:00:00+01:00` sent as written), when that form is one IsoTime takes; undefined
 * otherwise (a time wrong in another way too is shown the form, not sent to a second refusal).
 * @example plusReadAsSpace('2026-12-07T00:00:00 01:00') // '2026-12-07T00:00:00%2B01:00'
 */
function plusReadAsSpace(input: unknown): string | undefined {
  const m = typeof input === 'string' ? /^(\S+) (\d\d:\d\d)$/.exec(input) : null;
  return m && OFFSET_DATE_TIME.safeParse(`${m[1]}+${m[2]}`).success ? `${m[1]}%2B${m[2]}` : undefined;
}

/**
 * An ISO 8601 time with offset; normalised to UTC milliseconds. Used in query strings, where an
 * offset's unencoded `+` arrives as a space: that one is told to write `%2B`, not shown the `+01:00`
 * form it already sent.
 */
export const IsoTime = z.iso
  .datetime({
    offset: true,
    error: (issue) => {
      const encoded = plusReadAsSpace(issue.input);
      return encoded
        ? `${String(issue.input)} has a space where its offset's + was: a + in a query string reads as a space, so percent-encode it, ${encoded} (or give the time in UTC, with Z)`
        : 'an RFC 3339 date-time with Z or an offset, such as 2026-12-06T23:00:00Z or 2026-12-07T00:00:00+01:00';
    },
  })
  .transform((v) => new Date(v).toISOString());

/**
 * A list's `from` and `to` (IsoTime, both inclusive) the right way round: swapped bounds would
 * answer an empty page, which a client cannot tell from "nothing in that time". Compared after
 * IsoTime made both UTC ISO strings of one length, so as text.
 * @example z.strictObject({ from: IsoTime.optional(), to: IsoTime.optional() }).refine(...FROM_NOT_AFTER_TO)
 */
export const FROM_NOT_AFTER_TO: [(q: { from?: string; to?: string }) => boolean, { message: string; path: string[] }] = [
  (q) => q.from === undefined || q.to === undefined || q.from <= q.to,
  { message: 'later than to, so nothing can match (both bounds are inclusive)', path: ['from'] },
];

/**
 * A time in an answer: an ISO 8601 UTC string (`2026-12-06T23:42:52.802Z`), as every read model
 * stores and every event records it. Declared `format: date-time` in /docs, so client generators
 * type it as a date; read as any string, as before (an answer is never refused for its time).
 */
export const Timestamp = z.string().meta({ format: 'date-time' });

export const Hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, '0x + 64 lowercase hex digits');

export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().optional() });

export const ErrorInfo = z.object({ code: z.string(), message: z.string() });

export const ActorView = z.object({ kind: z.enum(['user', 'agent', 'system']), id: z.string() });

export const NoContent = z.null().describe('No content');

/**
 * A JSON object passed on as it is: the same object, never a copy. `z.record` builds its output by
 * assignment, which drops an own key named `__proto__` (JSON.parse makes one; a model's tool call
 * may hold one) without a word. Declared in OpenAPI as an object of any properties.
 * @example JsonObject.parse(JSON.parse('{"__proto__":1}')) // the same object, its key kept
 */
export const JsonObject = z
  .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { error: 'an object' })
  .meta({ type: 'object', additionalProperties: {} });
