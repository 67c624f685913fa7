import type { SubjectKeyStore } from './subject-key-store';

/**
 * `keys` for one read (a page of a list): each `kid` is looked up once, however many payloads it
 * sealed, its answer shared, an absent (erased) key's too — which cachedSubjectKeys never
 * remembers, so a page of an erased subject's tasks would read the key store once per sealed
 * field. Meant to live as long as the read: an erasure meanwhile is seen by the next one.
 * @example const page = await Promise.all(items.map((t) => openTaskView(keyLookupsOnce(keys), t)))
 */
export function keyLookupsOnce(keys: SubjectKeyStore | undefined): SubjectKeyStore | undefined {
  if (!keys) return undefined;
  const seen = new Map<string, Promise<Buffer | undefined>>();
  return {
    keyFor: (subject) => keys.keyFor(subject),
    keyById(kid) {
      let p = seen.get(kid);
      if (!p) {
        p = keys.keyById(kid);
        seen.set(kid, p);
      }
      return p;
    },
    erase: (subject) => keys.erase(subject),
  };
}
