import type { EraseSubjectKeyReturnType, SubjectKey, SubjectKeyStore } from './subject-key-store';

/** How long a process keeps a key it read: another process's erasure takes effect here within it. */
export const SUBJECT_KEY_CACHE_MS = 30_000;

/**
 * A SubjectKeyStore that remembers keys it read for `ttlMs` (at most `max` of each kind), so a
 * busy subject costs one read per window. A key found erased is remembered as such (an erased key
 * never comes back), and reads of one key at once share one store read: a page of a list opens
 * many payloads of one subject together. An erasure through this store forgets at once; one made
 * by another process is seen here within `ttlMs` (docs/security.md, "Erasure"), or at once by
 * isErased, which reads the store and drops a key it finds erased.
 */
export function cachedSubjectKeys(store: SubjectKeyStore, o: { ttlMs?: number; max?: number; now?: () => number } = {}): SubjectKeyStore {
  const ttl = o.ttlMs ?? SUBJECT_KEY_CACHE_MS;
  const max = o.max ?? 10_000;
  const now = o.now ?? Date.now;
  const bySubject = new Map<string, { v: SubjectKey; at: number }>();
  const byKid = new Map<string, { v: Buffer | null; at: number }>();
  const reading = new Map<string, Promise<Buffer | undefined>>();
  // Erasures made here so far: a read that began before one may answer with the key it erased
  // (read, then erased, then answered), which must not be remembered, or the erased payloads would
  // open here (and new ones be sealed with the erased key) for another `ttl`.
  let erasures = 0;
  const put = <V>(m: Map<string, { v: V; at: number }>, k: string, v: V, readAt: number) => {
    if (readAt !== erasures) return;
    if (m.size >= max) m.delete(m.keys().next().value as string);
    m.set(k, { v, at: now() });
  };
  const fresh = <V>(m: Map<string, { v: V; at: number }>, k: string): V | undefined => {
    const e = m.get(k);
    if (e && now() - e.at < ttl) return e.v;
    m.delete(k);
    return undefined;
  };
  return {
    async keyFor(subject) {
      const hit = fresh(bySubject, subject);
      if (hit) return hit;
      const readAt = erasures;
      const k = await store.keyFor(subject);
      put(bySubject, subject, k, readAt);
      return k;
    },
    async keyById(kid) {
      const hit = fresh(byKid, kid);
      if (hit !== undefined) return hit ?? undefined;
      let read = reading.get(kid);
      if (!read) {
        const readAt = erasures;
        read = store.keyById(kid).then((key) => {
          // Absent (erased) is remembered too: it never comes back.
          put(byKid, kid, key ?? null, readAt);
          return key;
        });
        reading.set(kid, read);
        const done = () => void (reading.get(kid) === read && reading.delete(kid));
        void read.then(done, done);
      }
      return read;
    },
    async erase(subject): Promise<EraseSubjectKeyReturnType> {
      // Before and after: a read begun while the store erases may still have found the key, and is
      // neither remembered nor shared with reads asked for after the erasure.
      erasures++;
      reading.clear();
      const out = await store.erase(subject);
      erasures++;
      reading.clear();
      bySubject.delete(subject);
      for (const kid of out.erased) byKid.delete(kid);
      return out;
    },
    // Not cached: asked rarely (a person's request), and it must say what the store holds now.
    keysOf: (subject) => store.keysOf(subject),
    // Not cached either: asked to learn of an erasure made since, by this process or another. Found
    // erased, the key is dropped at once (never used again here, rather than for up to `ttl`).
    async isErased(kid) {
      const erased = await keyErasedNow(store, kid);
      if (erased) {
        for (const [subject, e] of bySubject) if (e.v.kid === kid) bySubject.delete(subject);
        byKid.delete(kid);
      }
      return erased;
    },
  };
}

/**
 * Whether `store` holds key `kid` erased (or never made) now: its isErased, else its keyById (a
 * store without isErased caches nothing).
 */
export async function keyErasedNow(store: SubjectKeyStore, kid: string): Promise<boolean> {
  return store.isErased ? store.isErased(kid) : (await store.keyById(kid)) === undefined;
}
