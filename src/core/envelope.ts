import { z } from 'zod';
import { canonicalJson } from './canonical';
import { hashCanonical, sha256Utf8Hex } from './hash';
import { OpenMcpError, ValidationError } from './errors';
import { loneSurrogateIn } from './lone-surrogate';
import { newId } from './ids';
import { systemClock, type Clock } from './clock';
import type { Hex } from './hex';

/** Who did it. Recorded in every event, hashed with it. */
export const ActorSchema = z.strictObject({
  kind: z.enum(['user', 'agent', 'system']),
  id: z.string().min(1).max(200),
});
export type Actor = z.infer<typeof ActorSchema>;

export const STREAM_RE = /^[a-z][a-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]{0,190}$/;
/** The start of a stream name, as a subscription's `streamPrefix` (`mcpserver-`, `task`, `task-0193…`). */
export const STREAM_PREFIX_RE = /^[a-z][a-z0-9]*(-[A-Za-z0-9._:-]*)?$/;
export const EVENT_TYPE_RE = /^[A-Z][A-Za-z0-9]{1,99}$/;
const ISO_MS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The fields that are hashed (DESIGN.md "Event hash"). Optional fields are omitted, never null. */
export const EventContentSchema = z.strictObject({
  id: z.uuid(),
  type: z.string().regex(EVENT_TYPE_RE, 'PascalCase event type'),
  version: z.number().int().min(1),
  stream: z.string().regex(STREAM_RE, '<aggregate>-<id>'),
  occurredAt: z.string().regex(ISO_MS_RE, 'ISO 8601 UTC with milliseconds'),
  tenant: z.string().min(1).max(100),
  actor: ActorSchema,
  correlationId: z.string().min(1).max(200).optional(),
  causationId: z.string().min(1).max(200).optional(),
  data: z.record(z.string(), z.unknown()),
});
export type EventContent<TType extends string = string, TData = Record<string, unknown>> = Omit<
  z.infer<typeof EventContentSchema>,
  'type' | 'data'
> & { type: TType; data: TData };

/** An event ready to append: content plus its hash. The store assigns revision and position. */
export type PendingEvent<TType extends string = string, TData = Record<string, unknown>> = EventContent<TType, TData> & {
  hash: Hex;
};

/** The full envelope as stored, published and proven. */
export type RecordedEvent<TType extends string = string, TData = Record<string, unknown>> = PendingEvent<TType, TData> & {
  revision: number;
  position: number;
};

export const RecordedEventSchema = EventContentSchema.extend({
  revision: z.number().int().min(0),
  position: z.number().int().min(0),
  hash: z.string().regex(/^0x[0-9a-f]{64}$/),
});

const CONTENT_KEYS = [
  'id', 'type', 'version', 'stream', 'occurredAt', 'tenant', 'actor', 'correlationId', 'causationId', 'data',
] as const;

/** The hashed subset of an envelope; drops revision, position, hash and absent optionals. */
export function contentOf(event: EventContent | PendingEvent | RecordedEvent): EventContent {
  const out: Record<string, unknown> = {};
  for (const k of CONTENT_KEYS) {
    const v = (event as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out as EventContent;
}

/** SHA-256 of the JCS canonical JSON of the content fields. */
export function computeEventHash(event: EventContent): Hex {
  return hashCanonical(contentOf(event));
}

/**
 * The most an event may hold: its canonical JSON in UTF-8 bytes. Every store must take it whole:
 * MySQL sends a statement as one packet (max_allowed_packet, 16 MiB on MariaDB by default; escaping
 * can double the bytes) and KurrentDB limits one append (MaxAppendSize: infra sets 8 MiB; older
 * releases default to 1 MiB). Requests are bounded well below (REST bodies 1 MiB, stored tool payloads
 * 256 KiB characters); this is the backstop that makes an oversized event fail where it is made,
 * with a clear error, instead of in a store.
 */
export const MAX_EVENT_BYTES = 4 * 1024 * 1024;

/** An event over MAX_EVENT_BYTES. */
export class EventTooLargeError extends OpenMcpError {
  constructor(type: string, bytes: number) {
    super('EVENT_TOO_LARGE', `${type} event of ${bytes} bytes is over the limit of ${MAX_EVENT_BYTES} bytes`, { status: 413, details: { type, bytes, limit: MAX_EVENT_BYTES } });
  }
}

export function verifyEventHash(event: PendingEvent): boolean {
  return computeEventHash(event) === event.hash;
}

export type CreateEventParameters<TType extends string, TData> = {
  type: TType;
  version?: number;
  stream: string;
  tenant: string;
  actor: Actor;
  data: TData;
  correlationId?: string;
  causationId?: string;
  id?: string;
};

/**
 * An event whose content holds a lone UTF-16 surrogate: refused where it is built, naming the
 * field. Its hash would be reproducible only in JavaScript (RFC 8785 hashes UTF-8, which has no
 * form for it). Text from outside is made well-formed where it enters (wellFormed), and input is
 * refused at its door (REST bodies, tools/call arguments, configuration files), so this is the
 * last line: it finds a path that missed both. Events already in a log are never re-hashed, and
 * verify as they were.
 */
function assertWellFormedContent(content: EventContent, text: string): void {
  // JSON.stringify (which canonicalize uses) writes a lone surrogate as an escape and a pair as it
  // is, so only a text with `\ud` in it can hold one: then the walk finds it and names the field.
  if (!text.includes('\\ud')) return;
  const lone = loneSurrogateIn(content);
  if (!lone) return;
  // A key may be the ill-formed text: `field` writes it out, so the message is itself recordable (a TaskFailed quotes it).
  const { field } = lone;
  throw new ValidationError(
    `${content.type} event not built: ${field} holds a lone UTF-16 surrogate (\\${lone.unit}), not Unicode text, so its hash (RFC 8785, over UTF-8) could not be reproduced outside JavaScript`,
    { field, type: content.type },
  );
}

/**
 * Build a hashed event from its content. Id defaults to a new UUIDv7, time to the clock.
 * Throws VALIDATION_FAILED naming the field for content with a lone UTF-16 surrogate (see
 * assertWellFormedContent) and EVENT_TOO_LARGE past MAX_EVENT_BYTES.
 * @example createEvent({ type: 'TaskStarted', stream: 'task-…', tenant: 'acme', actor, data: {} })
 */
export function createEvent<TType extends string, TData extends Record<string, unknown>>(
  p: CreateEventParameters<TType, TData>,
  clock: Clock = systemClock,
): PendingEvent<TType, TData> {
  const content = contentOf({
    id: p.id ?? newId(),
    type: p.type,
    version: p.version ?? 1,
    stream: p.stream,
    occurredAt: clock().toISOString(),
    tenant: p.tenant,
    actor: p.actor,
    correlationId: p.correlationId,
    causationId: p.causationId,
    data: p.data,
  }) as EventContent<TType, TData>;
  const text = canonicalJson(content);
  assertWellFormedContent(content, text);
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long text needs counting.
  if (text.length > MAX_EVENT_BYTES / 3) {
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_EVENT_BYTES) throw new EventTooLargeError(content.type, bytes);
  }
  // The content is this call's own copy (contentOf): the hash is added to it rather than spread into
  // another copy (`{ ...content, hash }` is V8's slow path, microseconds an event). Same keys, same order.
  const event = content as PendingEvent<TType, TData>;
  event.hash = sha256Utf8Hex(text);
  return event;
}

/** Split `task-0193…` into aggregate `task` and id `0193…`. */
export function parseStream(stream: string): { aggregate: string; id: string } {
  const i = stream.indexOf('-');
  return { aggregate: stream.slice(0, i), id: stream.slice(i + 1) };
}
