import { toHex, utf8 } from './hex.js';
import { canonicalJson } from './jcs.js';
import { sha256 } from './sha256.js';

/** The fields the event hash covers (DESIGN.md "Event hash"); revision, position and hash are assigned later. */
export const HASHED_FIELDS = ['id', 'type', 'version', 'stream', 'occurredAt', 'tenant', 'actor', 'correlationId', 'causationId', 'data'];

/** SHA-256 of the JCS text of the content fields, absent optional fields omitted. @param {Record<string, unknown>} event */
export async function computeEventHash(event) {
  /** @type {Record<string, unknown>} */
  const content = {};
  for (const k of HASHED_FIELDS) if (event[k] !== undefined) content[k] = event[k];
  return toHex(await sha256(utf8(canonicalJson(content))));
}
