import type { Actor, RecordedEvent } from '../src/core/envelope';
import { sha256Utf8Hex } from '../src/core/hash';

/**
 * What names a data subject in an event, as the subject index keeps it (rm_subject_events): its
 * actor, its own API key's stream, a data key that sealed a payload of it. One index row per ref
 * and event, under the event's tenant, so a subject's events are a few index ranges, not the log.
 */
export const actorRef = (a: Actor): string => `actor:${a.kind}:${a.id}`;
/** An `apikey-<id>` stream: the key's own events (ApiKeyCreated with its name), whatever the actor's kind. */
export const apiKeyRef = (id: string): string => `apikey:${id}`;
/** A data key: a payload sealed under it, or its own `subject-<kid>` stream (SubjectKeyErased). */
export const kidRef = (kid: string): string => `kid:${kid}`;

const API_KEY_STREAM = 'apikey-';
const SUBJECT_KEY_STREAM = 'subject-';

/** The `kid` of every sealed payload in `v` (`{alg, kid, iv, ct, tag}`, at any depth of an event's data). */
export function sealedKids(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) sealedKids(x, out);
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.kid === 'string' && typeof o.ct === 'string') out.push(o.kid);
    else for (const x of Object.values(o)) sealedKids(x, out);
  }
  return out;
}

/** The longest ref kept as it is (the column takes 255 characters). */
const MAX_PLAIN_REF = 200;

/**
 * A ref as the index holds it: as it is when short printable ASCII, else its SHA-256. An actor id
 * (up to 200 characters, any text) or a `kid` an event's data carries (any string) must neither
 * overflow the column nor carry what MySQL refuses (a lone surrogate), which would stop the projector.
 */
export function indexedRef(ref: string): string {
  return ref.length <= MAX_PLAIN_REF && /^[\x20-\x7e]*$/.test(ref) ? ref : `sha256:${sha256Utf8Hex(ref).slice(2)}`;
}

/**
 * The refs under which `e` is indexed, each once: every subject it is about, by the rules of an
 * access request (docs/security.md, "An access or export request"). Pure.
 * @example subjectRefs(toolCallRequestedBySealedWorker) // ['actor:agent:agent-host-1', 'kid:0193…']
 */
export function subjectRefs(e: Pick<RecordedEvent, 'actor' | 'stream' | 'data'>): string[] {
  const refs = new Set([actorRef(e.actor)]);
  if (e.stream.startsWith(API_KEY_STREAM)) refs.add(apiKeyRef(e.stream.slice(API_KEY_STREAM.length)));
  if (e.stream.startsWith(SUBJECT_KEY_STREAM)) refs.add(kidRef(e.stream.slice(SUBJECT_KEY_STREAM.length)));
  for (const kid of sealedKids(e.data)) refs.add(kidRef(kid));
  return [...new Set([...refs].map(indexedRef))];
}

/**
 * The refs that name the subject `actor` (of its tenant) whose data keys are `kids`: the index
 * ranges its events are in. Its own API key is `apikey-<actor id>`, of any kind (an API key's
 * id is the actor id of whatever it does).
 */
export function refsOfSubject(actor: Actor, kids: readonly string[]): string[] {
  return [...new Set([actorRef(actor), apiKeyRef(actor.id), ...kids.map(kidRef)].map(indexedRef))];
}
