import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import * as secp from '@noble/secp256k1';
import { OpenMcpError } from './errors';
import { sha256 } from './hash';
import { fromHex, toHex, type Hex } from './hex';

/**
 * A task's final answer encrypted to its client's secp256k1 key (TaskCompleted v2 `sealedAnswer`,
 * written under LLM_REDACTION=hash-only for a task submitted with `answerRecipient`). ECIES:
 * docs/agent.md "Sealed answers" gives the construction byte by byte, for clients in any language.
 */
export const SEALED_ANSWER_SCHEME = 'ecies-secp256k1-hkdf-sha256-aes-256-gcm';
/** HKDF's `info`: binds the key to this use (and this version of the construction). */
const HKDF_INFO = Buffer.from('openmcp-sealed-answer/1', 'ascii');

/** Every binary field is 0x-prefixed lowercase hex (DESIGN.md). */
export type SealedAnswer = {
  scheme: typeof SEALED_ANSWER_SCHEME;
  /** The recipient's public key, compressed (33 bytes): the task's `answerRecipient`. */
  recipient: string;
  /** The sender's one-time public key, compressed (33 bytes). */
  ephemeralPublicKey: string;
  /** AES-256-GCM nonce (12 bytes). */
  nonce: string;
  /** AES-256-GCM ciphertext of the answer's canonical JSON (as long as it). */
  ciphertext: string;
  /** AES-256-GCM authentication tag (16 bytes). */
  tag: string;
};

/** Opening a sealed answer failed: `code` says why (docs/errors.md). Never carries the answer or a key. */
export class SealedAnswerError extends OpenMcpError {
  constructor(code: 'SEALED_ANSWER_WRONG_KEY' | 'SEALED_ANSWER_KEY_INVALID' | 'SEALED_ANSWER_INVALID' | 'ANSWER_HASH_MISMATCH', message: string) {
    super(code, message, { status: code === 'SEALED_ANSWER_INVALID' || code === 'ANSWER_HASH_MISMATCH' ? 502 : 400 });
  }
}

/**
 * A secp256k1 public key as SEC 1 hex (`0x02…`/`0x03…` compressed, 33 bytes, or `0x04…`
 * uncompressed, 65 bytes; either case), checked to be a point of the curve, written compressed in
 * lowercase. Throws TypeError saying what is wrong.
 * @example recipientPublicKey('0x0479BE…10D4B8') // '0x0279be…f81798'
 */
export function recipientPublicKey(text: string): Hex {
  if (!/^0x(?:0[23][0-9a-fA-F]{64}|04[0-9a-fA-F]{128})$/.test(text)) {
    throw new TypeError('a secp256k1 public key: 0x02 or 0x03 and 64 hex digits (compressed, 33 bytes), or 0x04 and 128 hex digits (uncompressed, 65 bytes)');
  }
  try {
    return toHex(secp.Point.fromBytes(fromHex(text)).toBytes(true));
  } catch {
    throw new TypeError('not a point of secp256k1: not a public key');
  }
}

/** The 32-byte AES key of one sealed answer: HKDF-SHA256(ECDH x, salt = E ‖ R, info). */
function sealingKey(shared: Uint8Array, ephemeral: Uint8Array, recipient: Uint8Array): Buffer {
  // getSharedSecret's compressed point is 0x02/0x03 ‖ x: the x-coordinate is the ECDH secret (SEC 1 §3.3.1).
  return Buffer.from(hkdfSync('sha256', shared.subarray(1), Buffer.concat([ephemeral, recipient]), HKDF_INFO, 32));
}

/**
 * Seal `answer` to `recipient` (a compressed public key, as recipientPublicKey writes it) for task
 * `taskId` (the GCM associated data: a sealed answer opens only as the answer of its own task).
 * The plaintext is the answer's canonical JSON (a JSON string, RFC 8785), the very bytes whose
 * SHA-256 is the task's `answerHash`. `fixed` is for test vectors only: a fresh key and nonce
 * are drawn otherwise, and must be.
 */
export function sealAnswer(answer: string, recipient: Hex, taskId: string, fixed: { ephemeralSecretKey?: Uint8Array; nonce?: Uint8Array } = {}): SealedAnswer {
  const r = fromHex(recipient, 33);
  const e = fixed.ephemeralSecretKey ?? secp.utils.randomSecretKey();
  const ephemeral = secp.getPublicKey(e, true);
  const nonce = fixed.nonce ?? randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(secp.getSharedSecret(e, r, true), ephemeral, r), nonce);
  cipher.setAAD(Buffer.from(taskId, 'utf8'));
  // RFC 8785 writes a string exactly as JSON.stringify does (lone surrogates escaped, so UTF-8 loses nothing).
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(answer), 'utf8'), cipher.final()]);
  return { scheme: SEALED_ANSWER_SCHEME, recipient: toHex(r), ephemeralPublicKey: toHex(ephemeral), nonce: toHex(nonce), ciphertext: toHex(ciphertext), tag: toHex(cipher.getAuthTag()) };
}

function secretKeyOf(privateKey: string | Uint8Array): Uint8Array {
  const k = typeof privateKey === 'string' ? privateKey.trim() : privateKey;
  const bytes = typeof k === 'string' ? (/^(0x)?[0-9a-fA-F]{64}$/.test(k) ? Buffer.from(k.replace(/^0x/, ''), 'hex') : undefined) : k;
  if (!bytes || !secp.utils.isValidSecretKey(bytes)) throw new SealedAnswerError('SEALED_ANSWER_KEY_INVALID', 'the key given is not a secp256k1 private key (32 bytes: 64 hex digits, 0x optional)');
  return bytes;
}

/**
 * Open a sealed answer with the recipient's private key (hex, `0x` optional, or bytes), as the
 * answer of task `taskId`; with `answerHash` (the task's signed output's), also check that the
 * answer is the one the agent signed. Throws SealedAnswerError: SEALED_ANSWER_KEY_INVALID (not a
 * private key), SEALED_ANSWER_WRONG_KEY (the key of another public key than the recipient's),
 * SEALED_ANSWER_INVALID (the tag does not check: altered, or another task's), ANSWER_HASH_MISMATCH.
 * @example openSealedAnswer(task.sealedAnswer, readFileSync('./answer.key', 'utf8'), { taskId: task.id, answerHash: task.output.answerHash })
 */
export function openSealedAnswer(sealed: Omit<SealedAnswer, 'scheme'> & { scheme: string }, privateKey: string | Uint8Array, o: { taskId: string; answerHash?: string }): string {
  if (sealed.scheme !== SEALED_ANSWER_SCHEME) throw new SealedAnswerError('SEALED_ANSWER_INVALID', `sealed with ${String(sealed.scheme)}, which this client cannot open (it knows ${SEALED_ANSWER_SCHEME})`);
  const secret = secretKeyOf(privateKey);
  const own = toHex(secp.getPublicKey(secret, true));
  if (own !== sealed.recipient) {
    throw new SealedAnswerError('SEALED_ANSWER_WRONG_KEY', `the answer is sealed to the public key ${sealed.recipient}; the key given is the private key of ${own}`);
  }
  let plaintext: Buffer;
  try {
    const r = fromHex(sealed.recipient, 33);
    const ephemeral = fromHex(sealed.ephemeralPublicKey, 33);
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(secp.getSharedSecret(secret, ephemeral, true), ephemeral, r), fromHex(sealed.nonce, 12));
    decipher.setAAD(Buffer.from(o.taskId, 'utf8'));
    decipher.setAuthTag(fromHex(sealed.tag, 16));
    plaintext = Buffer.concat([decipher.update(fromHex(sealed.ciphertext)), decipher.final()]);
  } catch {
    throw new SealedAnswerError('SEALED_ANSWER_INVALID', `the sealed answer does not open as the answer of task ${o.taskId}: its authentication tag does not check (it was altered or cut, or it is another task's)`);
  }
  const hash = toHex(sha256(plaintext));
  if (o.answerHash !== undefined && hash !== o.answerHash) {
    throw new SealedAnswerError('ANSWER_HASH_MISMATCH', `the opened answer's SHA-256 is ${hash}, not the task's answerHash ${o.answerHash}: it is not the answer the agent signed`);
  }
  let answer: unknown;
  try {
    answer = JSON.parse(plaintext.toString('utf8'));
  } catch {
    answer = undefined;
  }
  if (typeof answer !== 'string') throw new SealedAnswerError('SEALED_ANSWER_INVALID', 'the sealed answer opens to something that is not a JSON string');
  return answer;
}
