import { PAYLOAD_HASH_SCHEME, saltAad, saltedAad, splitSaltedPlaintext, type PayloadHashScheme } from './salted-hash';
import { openSealed, type SealedPayload } from './sealed-payload';
import type { SubjectKeyStore } from './subject-key-store';

/** A sealed payload opened: its canonical JSON, and for one sealed with its salt, the salt and the scheme of its hash. */
export type OpenedPayload = { json: string; salt?: `0x${string}`; scheme?: PayloadHashScheme };

/**
 * Open `sealed`, kept at `aad`, whichever way it was sealed: with its salt inside (the event
 * versions naming a hash scheme; sealSaltedPayload) or bare (earlier versions, whose hash is the
 * plain SHA-256). The additional data tells them apart: a salted payload is bound to saltedAad,
 * and AES-GCM refuses the other. Undefined when it cannot be opened here (key erased, unknown,
 * or not the one it was sealed with).
 */
export async function openedPayload(keys: SubjectKeyStore | undefined, sealed: SealedPayload, aad: string): Promise<OpenedPayload | undefined> {
  const key = await keys?.keyById(sealed.kid);
  if (!key) return undefined;
  try {
    const { salt, json } = splitSaltedPlaintext(openSealed(key, sealed, saltedAad(aad)));
    return { json, salt, scheme: PAYLOAD_HASH_SCHEME };
  } catch {
    // Sealed bare (or not with this key): tried below.
  }
  try {
    return { json: openSealed(key, sealed, aad) };
  } catch {
    // A key that does not open it (not the one it was sealed with): as unreadable as an erased one.
    return undefined;
  }
}

/**
 * The salt sealed alone for a payload kept by hash only (sealSaltOnly), kept at `aad`; undefined
 * when it cannot be opened here (key erased, unknown, or not the one it was sealed with).
 */
export async function openedSalt(keys: SubjectKeyStore | undefined, saltSealed: SealedPayload, aad: string): Promise<`0x${string}` | undefined> {
  const key = await keys?.keyById(saltSealed.kid);
  if (!key) return undefined;
  try {
    const { salt, json } = splitSaltedPlaintext(openSealed(key, saltSealed, saltAad(aad)));
    return json === '' ? salt : undefined;
  } catch {
    return undefined;
  }
}
