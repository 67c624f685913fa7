import { z } from 'zod';

/**
 * A UUID as a client may write it, in either case (RFC 9562: case-insensitive on input; Swift's
 * `uuidString` is upper case), as the ids are stored: in lower case.
 */
export const Uuid = (message: string) => z.uuid(message).transform((v) => v.toLowerCase());

/** Ids in paths are UUIDs (tasks, events, keys are UUIDv7); anything else is a 400 naming `params.id`. */
export const UuidParams = z.strictObject({ id: Uuid('an id is a UUID') });

/** Cursors are opaque base64url tokens issued by a previous page. */
export const Cursor = z.string().regex(/^[A-Za-z0-9_-]{1,1024}$/, 'a cursor from a previous page');

export const Limit = z.coerce.number().int().min(1).max(200).default(50);

/** An ISO 8601 time with offset; normalised to UTC milliseconds. */
export const IsoTime = z.iso.datetime({ offset: true }).transform((v) => new Date(v).toISOString());

export const Hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, '0x + 64 lowercase hex digits');

export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().optional() });

export const ErrorInfo = z.object({ code: z.string(), message: z.string() });

export const ActorView = z.object({ kind: z.enum(['user', 'agent', 'system']), id: z.string() });

export const NoContent = z.null().describe('No content');
