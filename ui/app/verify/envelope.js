// The recorded event envelope's shape, as the server checks it (RecordedEventSchema in
// src/core/envelope.ts): the same keys and nothing else. A field the hash does not cover
// (anything but revision, position and hash outside the hashed set) must not ride along in a
// file that "passes", where a reader would take it as proven.

const UUID_RE = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/;
const TYPE_RE = /^[A-Z][A-Za-z0-9]{1,99}$/;
const STREAM_RE = /^[a-z][a-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]{0,190}$/;
const ISO_MS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HASH_RE = /^0x[0-9a-f]{64}$/;

const isObject = (/** @type {unknown} */ v) => !!v && typeof v === 'object' && !Array.isArray(v);
const isInt = (/** @type {unknown} */ v, /** @type {number} */ min) => Number.isSafeInteger(v) && /** @type {number} */ (v) >= min;
const isText = (/** @type {unknown} */ v, /** @type {number} */ max) => typeof v === 'string' && v.length >= 1 && v.length <= max;

/** @type {Record<string, (v: any) => boolean>} */
const FIELDS = {
  id: (v) => typeof v === 'string' && UUID_RE.test(v),
  type: (v) => typeof v === 'string' && TYPE_RE.test(v),
  version: (v) => isInt(v, 1),
  stream: (v) => typeof v === 'string' && STREAM_RE.test(v),
  occurredAt: (v) => typeof v === 'string' && ISO_MS_RE.test(v),
  tenant: (v) => isText(v, 100),
  actor: (v) => isObject(v) && Object.keys(v).every((k) => k === 'kind' || k === 'id') && ['user', 'agent', 'system'].includes(v.kind) && isText(v.id, 200),
  correlationId: (v) => v === undefined || isText(v, 200),
  causationId: (v) => v === undefined || isText(v, 200),
  data: (v) => isObject(v),
  revision: (v) => isInt(v, 0),
  position: (v) => isInt(v, 0),
  hash: (v) => typeof v === 'string' && HASH_RE.test(v),
};

/**
 * The first thing wrong with `e` as a recorded event envelope, or undefined when it is one.
 * @param {unknown} e @returns {string|undefined}
 */
export function envelopeProblem(e) {
  if (!isObject(e)) return 'not an object';
  const env = /** @type {Record<string, unknown>} */ (e);
  const extra = Object.keys(env).find((k) => !(k in FIELDS));
  if (extra !== undefined) return `unexpected field ${JSON.stringify(extra)}`;
  const bad = Object.keys(FIELDS).find((k) => !FIELDS[k](env[k]));
  return bad === undefined ? undefined : `field ${bad} is missing or malformed`;
}
