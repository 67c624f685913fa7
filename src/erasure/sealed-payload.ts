import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Hex } from '../core/hex';
import { newPayloadSalt, PAYLOAD_HASH_SCHEME, saltedAad, saltedPayloadHash, saltedPlaintext, type PayloadHashScheme } from './salted-hash';

/**
 * A payload encrypted under a subject's data key (MCP_PAYLOAD_POLICY=encrypted), as events keep
 * it: AES-256-GCM, a fresh 96-bit `iv` per payload, `kid` naming the key. `alg` is the envelope's
 * version: another algorithm would be another value. All binary fields are 0x-prefixed hex.
 */
export type SealedPayload = { alg: 'A256GCM'; kid: string; iv: Hex; ct: Hex; tag: Hex };

const hex = (b: Buffer): Hex => `0x${b.toString('hex')}` as Hex;
const bytes = (h: string): Buffer => Buffer.from(h.slice(2), 'hex');

/**
 * Encrypt `json` (the payload's canonical JSON, whose SHA-256 the event keeps beside it) with
 * `key` (32 bytes). `aad` binds the ciphertext to where it is kept (`toolcall-<id>/arguments`),
 * so it cannot be moved to another call or field and still open.
 * @example sealPayload(key, kid, '{"text":"hi"}', 'toolcall-0193…/arguments')
 */
export function sealPayload(key: Buffer, kid: string, json: string, aad: string): SealedPayload {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
  return { alg: 'A256GCM', kid, iv: hex(iv), ct: hex(ct), tag: hex(cipher.getAuthTag()) };
}

/** The JSON text sealPayload sealed. Throws when `key` or `aad` is not the one it was sealed with, or the payload was altered. */
export function openSealed(key: Buffer, sealed: SealedPayload, aad: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key, bytes(sealed.iv));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(bytes(sealed.tag));
  return Buffer.concat([decipher.update(bytes(sealed.ct)), decipher.final()]).toString('utf8');
}

/** Where a tool call's payload is kept: the additional data its seal is bound to. */
export function payloadAad(callId: string, field: 'arguments' | 'result'): string {
  return `toolcall-${callId}/${field}`;
}

/** A payload sealed with its salt inside, and the salted hash events keep beside it (sealSaltedPayload). */
export type SaltedSeal = { sealed: SealedPayload; hash: Hex; scheme: PayloadHashScheme };

/**
 * Seal `json` with a fresh salt inside (saltedPlaintext), bound to `aad` and the scheme
 * (saltedAad), and give the salted hash to keep beside it: the hash an event keeps for a payload
 * erasable with its subject's key (PAYLOAD_HASH_SCHEME).
 * @example const { sealed, hash, scheme } = sealSaltedPayload(key, kid, '{"text":"hi"}', payloadAad(callId, 'arguments'))
 */
export function sealSaltedPayload(key: Buffer, kid: string, json: string, aad: string, salt: Buffer = newPayloadSalt()): SaltedSeal {
  return { sealed: sealPayload(key, kid, saltedPlaintext(salt, json), saltedAad(aad)), hash: saltedPayloadHash(salt, json), scheme: PAYLOAD_HASH_SCHEME };
}
