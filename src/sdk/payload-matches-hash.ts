import { PAYLOAD_HASH_SCHEME, saltedPayloadHash } from '../erasure/salted-hash';
import { payloadDigest } from '../mcp/payload-hash';

/**
 * Whether a payload the API shows (a tool call's `arguments` or `result`, a task's `instruction`
 * or a step's `arguments`) is the one its recorded hash names: the plain SHA-256 of its canonical
 * JSON (no scheme: `store`, `hash-only`, and payloads sealed before 2026-12-11), or, with
 * `scheme: "hmac-sha256-salted-v1"` (MCP_PAYLOAD_POLICY=encrypted: payloads sealed, and from
 * 2026-12-11 those kept by hash only), the HMAC-SHA256 keyed by `salt`, which the API shows beside
 * the opened payload (or alone, `argumentsSalt` / `resultSalt`, for one kept by hash only). A failed
 * call's withheld message checks the same way: the message the caller was told as `payload`, the
 * hash `error.message` ends with, and `errorSalt`. False for a scheme this version does not know,
 * or a salted scheme without its salt (erased with the subject's key).
 * @example payloadMatchesHash(call.arguments, call.argumentsHash, { scheme: call.argumentsHashScheme, salt: call.argumentsSalt })
 */
export function payloadMatchesHash(payload: unknown, hash: string, o: { scheme?: string; salt?: string } = {}): boolean {
  const { json, hash: plain } = payloadDigest(payload);
  if (o.scheme === undefined) return plain === hash.toLowerCase();
  if (o.scheme !== PAYLOAD_HASH_SCHEME || !/^0x[0-9a-f]{64}$/.test(o.salt ?? '')) return false;
  return saltedPayloadHash(o.salt!, json) === hash.toLowerCase();
}
