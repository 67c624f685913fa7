import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Principal } from '../../src/auth/principal';
import { UnavailableError } from '../../src/core/errors';
import { eraseSubjectKey, subjectKeyStream } from '../../src/auth/erase-subject-key';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';

const admin: Principal = { tenant: 'acme', role: 'admin', actor: { kind: 'user', id: 'admin-1' }, crossTenant: false, via: 'api-key', subject: 'k-admin' };

describe('eraseSubjectKey: the erasure is recorded even when its first append fails', () => {
  let dir: string;
  let store: SqlEventStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-erase-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the key goes at once (fail closed); the same request again records SubjectKeyErased, once', async () => {
    const keys = new MemorySubjectKeyStore();
    const subject = 'acme:user:alice';
    const { kid } = await keys.keyFor(subject);
    let failures = 1;
    // The log unreachable for the first append only.
    const flaky = new Proxy(store, {
      get: (t, p) => (p === 'append' ? (...a: Parameters<EventStore['append']>) => (failures-- > 0 ? Promise.reject(new UnavailableError('event store', 'down')) : t.append(...a)) : Reflect.get(t, p)),
    }) as EventStore;
    const err = await eraseSubjectKey({ store: flaky, subjectKeys: keys }, admin, subject).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(UnavailableError);
    expect(await keys.keyById(kid), 'erased although not yet recorded').to.equal(undefined);
    expect(await store.readStream(subjectKeyStream(kid))).to.deep.equal([]);
    await eraseSubjectKey({ store: flaky, subjectKeys: keys }, admin, subject);
    await eraseSubjectKey({ store: flaky, subjectKeys: keys }, admin, subject);
    const recorded = await store.readStream(subjectKeyStream(kid));
    expect(recorded.map((e) => [e.type, (e.data as { kid: string }).kid])).to.deep.equal([['SubjectKeyErased', kid]]);
  });
});
