import * as secp from '@noble/secp256k1';
import { z } from 'zod';

/** 0x and 64 hex digits: the form of a private key (isPrivateKey also checks its value). */
export const HEX_KEY = /^0x[0-9a-fA-F]{64}$/;

/**
 * Whether `key` (0x and 64 hex digits) is a secp256k1 private key: above 0 and below the curve
 * order. 64 hex digits alone also pass 0x00…0 and values ≥ n, which no signer can use (ethers and
 * noble fail only when the key first signs, with a stack trace from the curve library).
 * @example isPrivateKey(`0x${'00'.repeat(32)}`) === false
 */
export function isPrivateKey(key: string): boolean {
  return HEX_KEY.test(key) && secp.utils.isValidSecretKey(Buffer.from(key.slice(2), 'hex'));
}

/**
 * A private key in a settings file or variable: 0x and 64 hex digits, above 0 and below the curve
 * order. A zero key or one at or above the order is 64 hex digits too, but signs nothing: refused
 * where it is read, naming the setting (never the key), not at its first signature with a stack trace.
 */
export const PrivateKeySchema = z
  .string()
  .regex(HEX_KEY, 'a 0x-prefixed 32-byte hex private key')
  .refine(isPrivateKey, 'a secp256k1 private key (0x and 64 hex digits, above 0 and below the curve order)');
