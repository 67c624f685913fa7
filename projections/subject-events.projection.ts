import type { Actor, RecordedEvent } from '../src/core/envelope';
import { sha256Utf8Hex } from '../src/core/hash';
import { catalog, SealedPayloadSchema, SealedSaltSchema } from '../events';
import { fieldPathsOf, valuesAt, type FieldPath } from '../events/sealed-fields';

/**
 * What names a data subject in an event, by the rules of an access request (docs/security.md, "An
 * access or export request"): its actor, its own API key's stream, a data key that sealed a payload
 * of it or its own `subject-<kid>` stream. Each is read from an index range, so a subject's events
 * are a few ranges, not the log: the actor from the audit log's (tenant, actor, position), the two
 * streams from its (stream, position), and the data keys of sealed payloads from the subject index
 * (rm_subject_events), which holds only those (an event without a sealed payload writes no row).
 */
export const actorRef = (a: Actor): string => `actor:${a.kind}:${a.id}`;
/** A data key whose key sealed a payload of an event. */
export const kidRef = (kid: string): string => `kid:${kid}`;

/** The stream of an API key's own events (ApiKeyCreated with its name), whatever the actor's kind. */
export const apiKeyStream = (id: string): string => `apikey-${id}`;
/** The stream of a data key's own events (SubjectKeyErased). */
export const subjectKeyStream = (kid: string): string => `subject-${kid}`;

/** The sealed fields of each event version of the catalog (fieldPathsOf its schema), by type then version. */
let sealedByType: Map<string, Map<number, readonly FieldPath[]>> | undefined;
const NONE: readonly FieldPath[] = [];

/**
 * Where the schema of `type` at `version` declares a payload sealed under a data key
 * (SealedPayloadSchema: `argumentsSealed`, `resultSealed`, `instructionSealed`, a task step's
 * `argumentsSealed`, each beside its hash and, from 2026-12-11, its hash scheme; SealedSaltSchema:
 * the salt alone of a payload kept by hash only or of a withheld error, `argumentsSaltSealed`,
 * `resultSaltSealed`, `errorSaltSealed`); none for a type
 * or version the catalog does not hold (a newer release's). Worked out once per version. So a
 * release that declares a sealed field in a new version must itself index that version's events a
 * projector of the release before applied during its rollout: those rows have their actor, and the
 * sweep for rows without one (repairSubjectIndex) does not find them.
 * @example sealedFields('TaskSubmitted', 4) // [['instructionSealed'], ['steps', '*', 'argumentsSealed']]
 */
export function sealedFields(type: string, version: number): readonly FieldPath[] {
  if (!sealedByType) {
    sealedByType = new Map();
    for (const d of catalog.definitions()) {
      const paths = [SealedPayloadSchema, SealedSaltSchema].flatMap((sealed) => fieldPathsOf(d.schema, sealed));
      if (!paths.length) continue;
      const versions = sealedByType.get(d.type) ?? new Map<number, readonly FieldPath[]>();
      sealedByType.set(d.type, versions.set(d.version, paths));
    }
  }
  return sealedByType.get(type)?.get(version) ?? NONE;
}

/**
 * The `kid` of every payload that `e`'s own type and version declare sealed (sealedFields), never
 * of a look-alike `{kid, ct}` in its plain data (a task's input or output, an upstream's result
 * kept under `store`), which a caller could write to put events in another subject's export.
 */
export function sealedKids(e: Pick<RecordedEvent, 'type' | 'version' | 'data'>): string[] {
  const out: string[] = [];
  for (const path of sealedFields(e.type, e.version)) {
    for (const v of valuesAt(e.data, path)) {
      const kid = (v as { kid?: unknown }).kid;
      if (typeof kid === 'string') out.push(kid);
    }
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

/** The actor column of an audit row (rm_audit_events.actor), as the index holds it. */
export const auditActor = (a: Actor): string => indexedRef(actorRef(a));

/**
 * The refs under which `e` is in the subject index, each once: the data keys of its sealed
 * payloads (none for most events). Its actor and its stream are the audit log's own columns. Pure.
 * @example subjectRefs(toolCallRequestedBySealedWorker) // ['kid:0193…']
 */
export function subjectRefs(e: Pick<RecordedEvent, 'type' | 'version' | 'data'>): string[] {
  return [...new Set(sealedKids(e).map((kid) => indexedRef(kidRef(kid))))];
}
