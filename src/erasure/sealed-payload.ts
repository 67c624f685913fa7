import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Hex } from '../core/hex';
import { newPayloadSalt, PAYLOAD_HASH_SCHEME, saltAad, saltedAad, saltedPayloadHash, saltedPlaintext, type PayloadHashScheme } from './salted-hash';

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

/** Where a tool call's payload is kept (`error`: the salt of its withheld error's digest): the additional data its seal is bound to. */
export function payloadAad(callId: string, field: 'arguments' | 'result' | 'error'): string {
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

/** The salt of a payload kept by hash only, sealed alone, and the salted hash events keep (sealSaltOnly). */
export type SaltOnlySeal = { saltSealed: SealedPayload; hash: Hex; scheme: PayloadHashScheme };

/**
 * For a payload kept by hash only under a subject's key (over MAX_STORED_PAYLOAD_CHARS, or a model's
 * arguments under LLM_REDACTION=hash-only): seal the salt alone (its plaintext `0x` and 64 hex),
 * bound to saltAad(aad), and give the salted hash of `json` to keep. Erasing the key erases the
 * salt, so the hash then confirms no guess, as for a payload sealed whole; `json` itself is kept nowhere.
 * @example const { saltSealed, hash } = sealSaltOnly(key, kid, bigJson, payloadAad(callId, 'result'))
 */
export function sealSaltOnly(key: Buffer, kid: string, json: string, aad: string, salt: Buffer = newPayloadSalt()): SaltOnlySeal {
  return { saltSealed: sealPayload(key, kid, saltedPlaintext(salt, ''), saltAad(aad)), hash: saltedPayloadHash(salt, json), scheme: PAYLOAD_HASH_SCHEME };
}

/**
 * The fields an event keeps of a payload's seal at `field`: `<field>Sealed` (the payload with its
 * salt) or `<field>SaltSealed` (the salt alone), with `<field>HashScheme`; none without a seal.
 * @example sealFields('result', sealSaltOnly(key, kid, json, aad)) // { resultSaltSealed, resultHashScheme }
 */
export function sealFields(field: 'arguments' | 'result', seal: SaltedSeal | SaltOnlySeal | undefined): Record<string, unknown> {
  if (!seal) return {};
  const sealed = 'sealed' in seal ? { [`${field}Sealed`]: seal.sealed } : { [`${field}SaltSealed`]: seal.saltSealed };
  return { ...sealed, [`${field}HashScheme`]: seal.scheme };
}

/**
 * Where the salt of a model turn's salted response hash is kept (InferenceCompleted v7
 * `responseRedacted.hashSaltSealed`): the additional data its seal is bound to, through saltAad.
 * @example turnResponseAad('0193…', 0) // 'task-0193…/turn-0/response'
 */
export function turnResponseAad(taskId: string, turn: number): string {
  return `task-${taskId}/turn-${turn}/response`;
}

/**
 * Where the salt of a model turn's salted prompt hash is kept (InferenceCompleted v8
 * `promptHashSaltSealed`): the additional data its seal is bound to, through saltAad.
 * @example turnPromptAad('0193…', 1) // 'task-0193…/turn-1/prompt'
 */
export function turnPromptAad(taskId: string, turn: number): string {
  return `task-${taskId}/turn-${turn}/prompt`;
}

/**
 * Where the salt of a withheld text's digest in a task step's failure is kept (TaskStepFailed v2
 * `errorSaltSealed`: a model's arguments that are not JSON, a tool name it made up).
 * @example stepErrorAad('0193…', 'turn-0-c1') // 'task-0193…/steps/turn-0-c1/error'
 */
export function stepErrorAad(taskId: string, stepId: string): string {
  return `task-${taskId}/steps/${stepId}/error`;
}

/**
 * Where the salt of a withheld text's digest in a task's failure is kept (TaskFailed v2
 * `errorSaltSealed`: an LLM server's words under LLM_REDACTION=hash-only).
 * @example taskErrorAad('0193…') // 'task-0193…/error'
 */
export function taskErrorAad(taskId: string): string {
  return `task-${taskId}/error`;
}
