import { createHmac, randomBytes } from 'node:crypto';
import type { Hex } from '../core/hex';

/**
 * How the hash beside a sealed payload is made in the event versions that name it
 * (`argumentsHashScheme`, `resultHashScheme`, `instructionHashScheme`): HMAC-SHA256 keyed by a
 * random 32-byte salt, over the UTF-8 of the payload's canonical JSON (RFC 8785). The salt is kept
 * only inside the sealed payload, so whoever opens it can recompute the hash, and once the
 * subject's key is erased nothing confirms a guessed payload (a plain SHA-256 would: an e-mail
 * address is quickly guessed). Hashes of `store` and `hash-only` payloads stay plain SHA-256.
 */
export const PAYLOAD_HASH_SCHEME = 'hmac-sha256-salted-v1';
export type PayloadHashScheme = typeof PAYLOAD_HASH_SCHEME;

/** Bytes of a payload's salt. */
export const PAYLOAD_SALT_BYTES = 32;

/** Characters of the salt as the sealed plaintext starts with it: `0x` and 64 lowercase hex. */
const SALT_CHARS = 2 + 2 * PAYLOAD_SALT_BYTES;
const SALT_PREFIX = /^0x[0-9a-f]{64}/;

/** A fresh random salt for one payload. */
export function newPayloadSalt(): Buffer {
  return randomBytes(PAYLOAD_SALT_BYTES);
}

/**
 * The salted hash of a payload: HMAC-SHA256(key = salt, message = UTF-8 of `json`), 0x hex.
 * Requires `salt` of PAYLOAD_SALT_BYTES bytes (0x hex or bytes).
 * @example saltedPayloadHash(salt, '{"text":"alice@example.com"}') // '0x…'
 */
export function saltedPayloadHash(salt: Buffer | string, json: string): Hex {
  const key = typeof salt === 'string' ? Buffer.from(salt.slice(2), 'hex') : salt;
  if (key.length !== PAYLOAD_SALT_BYTES) throw new RangeError(`a payload salt is ${PAYLOAD_SALT_BYTES} bytes, got ${key.length}`);
  return `0x${createHmac('sha256', key).update(json, 'utf8').digest('hex')}`;
}

/**
 * The plaintext sealed for a salted payload: the salt as `0x` + 64 lowercase hex, then the
 * payload's canonical JSON (no separator: the salt has a fixed length, and JSON text never starts
 * with `0x`).
 */
export function saltedPlaintext(salt: Buffer, json: string): string {
  return `0x${salt.toString('hex')}${json}`;
}

/** The salt and the canonical JSON of a plaintext saltedPlaintext made. Throws on any other text. */
export function splitSaltedPlaintext(text: string): { salt: Hex; json: string } {
  if (!SALT_PREFIX.test(text)) throw new Error('not a salted payload: it does not start with 0x and 64 lowercase hex digits');
  return { salt: text.slice(0, SALT_CHARS) as Hex, json: text.slice(SALT_CHARS) };
}

/**
 * The additional data a salted payload is sealed with: where it is kept, and the scheme. A release
 * that does not know the scheme (one rolled back to) cannot open it with the bare place, and reads
 * it as erased rather than show the salt as part of the payload.
 * @example saltedAad('toolcall-0193…/arguments') // 'toolcall-0193…/arguments#hmac-sha256-salted-v1'
 */
export function saltedAad(aad: string): string {
  return `${aad}#${PAYLOAD_HASH_SCHEME}`;
}

/**
 * The additional data a salt sealed alone (sealSaltOnly) is bound to: the place, `/salt`, then the
 * scheme, so it can be opened neither as the payload of that place nor as another place's salt.
 * @example saltAad('toolcall-0193…/result') // 'toolcall-0193…/result/salt#hmac-sha256-salted-v1'
 */
export function saltAad(aad: string): string {
  return saltedAad(`${aad}/salt`);
}
