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
    keysOf: (s) => inner.keysOf(s),
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

  it('reads a key once for reads asked together, and remembers an erased key as erased', async () => {
    const inner = new MemorySubjectKeyStore();
    const k = await inner.keyFor(subject);
    let reads = 0;
    const cached = cachedSubjectKeys({ ...inner, keyFor: (s) => inner.keyFor(s), erase: (s) => inner.erase(s), keysOf: (s) => inner.keysOf(s), keyById: (kid) => (reads++, inner.keyById(kid)) });
    const together = await Promise.all([1, 2, 3].map(() => cached.keyById(k.kid)));
    expect(together.every((key) => key?.equals(k.key))).to.equal(true);
    expect(reads).to.equal(1);
    await cached.erase(subject);
    expect(await cached.keyById(k.kid)).to.equal(undefined);
    expect(await cached.keyById(k.kid)).to.equal(undefined);
    expect(reads, 'the erased key read once').to.equal(2);
  });

  it('a read asked for after an erasure does not share a read begun before it', async () => {
    const inner = new MemorySubjectKeyStore();
    const k = await inner.keyFor(subject);
    const { store, release } = heldReads(inner);
    const cached = cachedSubjectKeys(store);
    const before = cached.keyById(k.kid);
    await new Promise((r) => setImmediate(r));
    await cached.erase(subject);
    const after = cached.keyById(k.kid);
    await new Promise((r) => setImmediate(r));
    release();
    expect(await before).to.not.equal(undefined); // found before the erasure, as the store answered
    expect(await after).to.equal(undefined);
  });

  it("isErased reads the store, not the cache: another process's erasure is seen at once, and the key is no longer used here", async () => {
    const inner = new MemorySubjectKeyStore();
    const cached = cachedSubjectKeys(inner, { ttlMs: 3_600_000 });
    const k = await cached.keyFor(subject);
    expect(await cached.keyById(k.kid)).to.not.equal(undefined);
    expect(await cached.isErased!(k.kid)).to.equal(false);
    // Erased through another process's store: this one's cache still holds the key.
    await inner.erase(subject);
    expect((await cached.keyFor(subject)).kid, 'cached').to.equal(k.kid);
    expect(await cached.isErased!(k.kid)).to.equal(true);
    expect(await cached.keyById(k.kid)).to.equal(undefined);
    expect((await cached.keyFor(subject)).kid, 'a new key, once found erased').to.not.equal(k.kid);
  });
});
