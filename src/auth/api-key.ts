import { randomBytes } from 'node:crypto';
import { sha256Utf8Hex } from '../core/hash';
import type { Hex } from '../core/hex';

/** Every key starts with this, so a leaked key is recognisable by secret scanners. */
export const API_KEY_PREFIX = 'omk_';
const KEY_RE = /^omk_[A-Za-z0-9_-]{43}$/;

/**
 * How a key is stored: SHA-256 of the whole key. A key carries 256 random bits, so a preimage or
 * brute-force search is infeasible without any stretching; a slow KDF (bcrypt, scrypt, argon2)
 * only helps low-entropy secrets such as passwords, and would cost tens of ms on every request.
 * The plain hash also allows an indexed lookup by hash, with no per-key salt to try.
 */
export function hashApiKey(key: string): Hex {
  return sha256Utf8Hex(key);
}

export function isApiKeyFormat(value: string): boolean {
  return KEY_RE.test(value);
}

/** The first characters of a key, kept to let a person tell keys apart (48 of 256 bits). */
export function keyPrefixOf(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + 8);
}

export type GeneratedApiKey = { key: string; hash: Hex; prefix: string };

/** A new key: `omk_` + 32 random bytes as base64url. Shown once; only the hash is kept. */
export function generateApiKey(): GeneratedApiKey {
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, hash: hashApiKey(key), prefix: keyPrefixOf(key) };
}
