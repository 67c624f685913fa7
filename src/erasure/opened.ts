import { openSealed, type SealedPayload } from './sealed-payload';
import type { SubjectKeyStore } from './subject-key-store';

/** The JSON text of `sealed`, or undefined when it cannot be opened here (key erased, unknown, or not the one it was sealed with). */
export async function opened(keys: SubjectKeyStore | undefined, sealed: SealedPayload, aad: string): Promise<string | undefined> {
  const key = await keys?.keyById(sealed.kid);
  if (!key) return undefined;
  try {
    return openSealed(key, sealed, aad);
  } catch {
    // A key that does not open it (not the one it was sealed with): as unreadable as an erased one.
    return undefined;
  }
}
