import { PAYLOAD_HASH_SCHEME, type PayloadHashScheme } from '../erasure/salted-hash';

/** How a withheld error message's salted digest ends `error.message` (ToolCallFailed v2, MCP_PAYLOAD_POLICY=encrypted). */
const SALTED_DIGEST = new RegExp(`, ${PAYLOAD_HASH_SCHEME} 0x[0-9a-f]{64}$`);

/** The fields of a tool call (GET /v1/tool-calls/:id) the decision reads. */
export type ErrorDigestFields = { error?: { message: string }; errorSalt?: string };

/**
 * The scheme of the salted digest a failed call's withheld message ends with, and its salt while
 * the subject's key exists (`errorSalt`); undefined for a message without one (`store`, or the plain
 * `sha256 <hash>` of `hash-only`). `openmcp tool-calls show` and the dashboard say it alike (twin:
 * errorDigest in ui/app/tool-calls.js, kept equal by a test). The digest checks with
 * payloadMatchesHash(message told, hash, { scheme, salt }).
 * @example errorDigest({ error: { message: '…, hmac-sha256-salted-v1 0x…' } }) // { scheme: 'hmac-sha256-salted-v1' } (salt erased)
 */
export function errorDigest(c: ErrorDigestFields): { scheme: PayloadHashScheme; salt?: string } | undefined {
  if (!c.error || !SALTED_DIGEST.test(c.error.message)) return undefined;
  return c.errorSalt === undefined ? { scheme: PAYLOAD_HASH_SCHEME } : { scheme: PAYLOAD_HASH_SCHEME, salt: c.errorSalt };
}
