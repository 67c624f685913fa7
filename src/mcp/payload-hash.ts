import canonicalize from 'canonicalize';
import { sha256Utf8Hex } from '../core/hash';
import type { Hex } from '../core/hex';

/**
 * JCS text and SHA-256 of a tool payload. Unlike core's canonicalJson, floats are allowed:
 * tool arguments and results are the caller's data, and JCS fixes their text form. The text
 * only ever enters an event as a string, so event data itself stays integer-only.
 */
export function payloadDigest(value: unknown): { json: string; hash: Hex } {
  const json = canonicalize(value ?? null) ?? 'null';
  return { json, hash: sha256Utf8Hex(json) };
}
