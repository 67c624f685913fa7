import { expect } from 'chai';
import { cachedSubjectKeys } from '../../src/erasure/cached-subject-keys';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import type { SubjectKeyStore } from '../../src/erasure/subject-key-store';

/** A store whose reads answer what they found only when let go: a read in flight while an erasure is made. */
function heldReads(inner: SubjectKeyStore) {
  const held: (() => void)[] = [];
  const hold = <T>(v: T) => new Promise<T>((resolve) => held.push(() => resolve(v)));
  const store: SubjectKeyStore = {
    // Copies, as the SQL store gives: the bytes as read, whatever happens to the key after.
    keyFor: async (s) => inner.keyFor(s).then((k) => hold({ kid: k.kid, key: Buffer.from(k.key) })),
    keyById: async (kid) => inner.keyById(kid).then((k) => hold(k && Buffer.from(k))),
    erase: (s) => inner.erase(s),
  };
  return { store, release: () => held.splice(0).forEach((f) => f()) };
}

describe('cachedSubjectKeys', () => {
  const subject = 'acme:user:alice';

  it('does not keep a key read before an erasure it made, once the read answers after it', async () => {
    const inner = new MemorySubjectKeyStore();
    const k = await inner.keyFor(subject);
    const { store, release } = heldReads(inner);
    const cached = cachedSubjectKeys(store);
    const byId = cached.keyById(k.kid);
    const bySubject = cached.keyFor(subject);
    await new Promise((r) => setImmediate(r));
    expect(await cached.erase(subject)).to.include({ known: true });
    release();
    await Promise.all([byId, bySubject]);
    // Erased: its payloads are unreadable here at once, and new ones get a new key.
    const again = cached.keyById(k.kid);
    const next = cached.keyFor(subject);
    await new Promise((r) => setImmediate(r));
    release();
    expect(await again).to.equal(undefined);
    expect((await next).kid).to.not.equal(k.kid);
  });
});
