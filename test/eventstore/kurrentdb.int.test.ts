import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { OpenMcpError, WrongExpectedRevisionError } from '../../src/core/errors';
import { newId } from '../../src/core/ids';
import { openKurrentEventStore } from '../../src/eventstore/kurrentdb';
import type { EventStore } from '../../src/eventstore/port';
import { startKurrentFake, type KurrentFake } from '../support/kurrentdb-fake';
import { eventStoreConformance } from './conformance';

const actor = { kind: 'user' as const, id: 'alice' };
const ev = (stream: string) => createEvent({ type: 'TaskStarted', stream, tenant: 'acme', actor, data: {} });

let shared: KurrentFake | undefined;
eventStoreConformance('KurrentDB (gRPC fake)', {
  gapFreePositions: false,
  async open() {
    shared = await startKurrentFake();
    return openKurrentEventStore(shared.url);
  },
  openAnother: () => openKurrentEventStore(shared!.url),
  cleanup: async () => shared?.stop(),
});

const realUrl = process.env.KURRENTDB_URL;
if (realUrl) {
  eventStoreConformance('KurrentDB (real server at KURRENTDB_URL)', {
    gapFreePositions: false,
    open: () => openKurrentEventStore(realUrl),
    openAnother: () => openKurrentEventStore(realUrl),
  });
}

describe('KurrentDB adapter against the gRPC fake', function () {
  let fake: KurrentFake;
  let store: EventStore;

  beforeEach(async () => {
    fake = await startKurrentFake();
    store = await openKurrentEventStore(fake.url);
  });
  afterEach(async () => {
    await store.close();
    await fake.stop();
  });

  it('reports a conflict sent through BatchAppend as WrongExpectedRevisionError', async () => {
    const s = `task-${newId()}`;
    await store.append(s, [ev(s), ev(s)], { expectedRevision: 'no_stream' });
    const err = await store.append(s, [ev(s)], { expectedRevision: 0 }).catch((e) => e);
    expect(fake.calls.BatchAppend, 'the client took the BatchAppend path').to.be.greaterThan(0);
    expect(fake.calls.Append ?? 0).to.equal(0);
    expect(err).to.be.instanceOf(WrongExpectedRevisionError);
    expect(err.details).to.deep.equal({ stream: s, expected: '0', actual: '1' });
  });

  it('with credentials in KURRENTDB_URL, appends through BatchAppend and sends them', async () => {
    // Made from the string whole (the client's default credentials): a credentials provider would
    // turn every append into a unary Append call.
    const authed = await openKurrentEventStore(fake.url.replace('kurrentdb://', 'kurrentdb://ops:pw@'));
    try {
      const s = `task-${newId()}`;
      await authed.append(s, [ev(s)], { expectedRevision: 'no_stream' });
      expect(await authed.readStream(s)).to.have.length(1);
      expect(fake.calls.BatchAppend, 'the client took the BatchAppend path').to.be.greaterThan(0);
      expect(fake.calls.Append ?? 0).to.equal(0);
      // Without TLS only the reads' native part sends them.
      expect(fake.authorizations.Read).to.include(`Basic ${Buffer.from('ops:pw').toString('base64')}`);
    } finally {
      await authed.close();
    }
  });

  it('surfaces a gRPC error on a read as a coded OpenMcpError', async () => {
    fake.failNext({ method: 'Read', code: grpc.status.PERMISSION_DENIED, exception: 'access-denied', message: 'Access denied' });
    const err = await store.readStream(`task-${newId()}`).catch((e) => e);
    expect(err).to.be.instanceOf(OpenMcpError);
    expect(err.code).to.equal('KURRENTDB_FAILED');
    expect(err.message).to.match(/^kurrentdb: readStream task-.*: access denied$/);
  });

  it('surfaces a gRPC error on a subscription from its iterator', async () => {
    fake.failNext({ method: 'Read', code: grpc.status.PERMISSION_DENIED, exception: 'access-denied' });
    const sub = store.subscribeAll();
    const err = await sub[Symbol.asyncIterator]().next().catch((e) => e);
    await sub.close();
    expect(err).to.be.instanceOf(OpenMcpError);
    expect(err.code).to.equal('KURRENTDB_FAILED');
  });

  it('ends a pending read of a subscription when it is closed', async () => {
    const sub = store.subscribeAll();
    const pending = sub[Symbol.asyncIterator]().next();
    await sub.close();
    expect(await pending).to.deep.equal({ done: true, value: undefined });
  });

  it('reports a stopped server as DEPENDENCY_UNAVAILABLE', async () => {
    await store.ping();
    await fake.stop();
    const err = await store.ping().catch((e) => e);
    expect(err).to.be.instanceOf(OpenMcpError);
    expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
  });

  it('reconnects by itself when the server comes back, with the optimistic concurrency intact', async () => {
    const s = `task-${newId()}`;
    await store.append(s, [ev(s)], { expectedRevision: 'no_stream' });
    const { port, log } = fake;
    // A server shutting down cancels the calls open on it (the client's BatchAppend stream).
    await fake.stop();
    const down = await store.append(s, [ev(s)], { expectedRevision: 0 }).catch((e) => e);
    expect(down.code).to.equal('DEPENDENCY_UNAVAILABLE');
    fake = await startKurrentFake({ port, log });
    // The failed append wrote nothing: revision 0 is still what to expect, and a stale 'no_stream' conflicts.
    expect(await store.append(s, [ev(s)], { expectedRevision: 'no_stream' }).catch((e) => e)).to.be.instanceOf(WrongExpectedRevisionError);
    expect((await store.append(s, [ev(s)], { expectedRevision: 0 })).nextExpectedRevision).to.equal(1);
  });

  it('surfaces an unavailable server on append as DEPENDENCY_UNAVAILABLE', async () => {
    fake.failNext({ method: 'BatchAppend', code: grpc.status.UNAVAILABLE, message: 'going away' });
    const s = `task-${newId()}`;
    const err = await store.append(s, [ev(s)]).catch((e) => e);
    expect(err).to.be.instanceOf(OpenMcpError);
    expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
    const retried = await store.append(s, [ev(s)]);
    expect(retried.nextExpectedRevision).to.equal(0);
  });

  it('reads past many system records in pages, whatever the limit: a few round trips, not one per record', async () => {
    const s = `task-${newId()}`;
    const first = await store.append(s, [ev(s)]);
    // An idle night of the server's own records ($stats every 30 s) before the next event.
    for (let i = 0; i < 1000; i++) fake.seed('$stats-127.0.0.1:2113', '$statsCollected');
    const next = await store.append(s, [ev(s)]);
    const before = fake.calls.Read ?? 0;
    expect((await store.readAll({ after: first.position, limit: 1 })).map((e) => e.id)).to.deep.equal([next.events[0].id]);
    expect(fake.calls.Read - before, 'round trips').to.be.at.most(6);
  });

  it('keeps system events and system streams out of readAll, subscribeAll and headPosition', async () => {
    const s = `task-${newId()}`;
    const mine = await store.append(s, [ev(s)]);
    fake.seed(s, '$metadata');
    fake.seed('$stats-127.0.0.1:2113', 'StatsCollected');
    expect(await store.headPosition()).to.equal(mine.position);
    const all = await store.readAll();
    expect(all.map((e) => e.id)).to.deep.equal([mine.events[0].id]);
    const sub = store.subscribeAll();
    try {
      const it = sub[Symbol.asyncIterator]();
      expect((await it.next()).value.id).to.equal(mine.events[0].id);
      const later = await store.append(s, [ev(s)]);
      expect((await it.next()).value.id).to.equal(later.events[0].id);
    } finally {
      await sub.close();
    }
  });

  it('appends and reports conflicts through the Append fallback when BatchAppend is not offered', async () => {
    const old = await startKurrentFake({ batchAppend: false });
    const oldStore = await openKurrentEventStore(old.url);
    try {
      const s = `task-${newId()}`;
      const events = [ev(s), ev(s)];
      const first = await oldStore.append(s, events, { expectedRevision: 'no_stream' });
      expect(first.events.map((e) => e.revision)).to.deep.equal([0, 1]);
      const again = await oldStore.append(s, events, { expectedRevision: 'no_stream' });
      expect(again.events.map((e) => e.position)).to.deep.equal(first.events.map((e) => e.position));
      const err = await oldStore.append(s, [ev(s)], { expectedRevision: 'no_stream' }).catch((e) => e);
      expect(err).to.be.instanceOf(WrongExpectedRevisionError);
      expect(err.details).to.deep.equal({ stream: s, expected: 'no_stream', actual: '1' });
      expect(old.calls.Append).to.be.greaterThan(0);
      expect(old.calls.BatchAppend ?? 0).to.equal(0);
    } finally {
      await oldStore.close();
      await old.stop();
    }
  });

  it("refuses an append over the server's MaxAppendSize as EVENT_TOO_LARGE (413), writing nothing", async () => {
    const small = await startKurrentFake({ maxAppendSize: 64 * 1024 });
    const s = `task-${newId()}`;
    const tight = await openKurrentEventStore(small.url);
    try {
      const big = createEvent({ type: 'TaskStarted', stream: s, tenant: 'acme', actor, data: { text: 'x'.repeat(100_000) } });
      const err = (await tight.append(s, [big]).then(() => undefined, (e: unknown) => e)) as OpenMcpError;
      expect(err).to.be.instanceOf(OpenMcpError);
      expect(err).to.include({ code: 'EVENT_TOO_LARGE', status: 413 });
      expect(err.message).to.contain('65536');
      expect(await tight.readStream(s)).to.deep.equal([]);
      expect((await tight.append(s, [ev(s)])).nextExpectedRevision).to.equal(0);
    } finally {
      await tight.close();
      await small.stop();
    }
  });

  it('reports -1 as the head of a log that holds only system events', async () => {
    expect(await store.headPosition()).to.equal(-1);
    expect(await store.readAll()).to.deep.equal([]);
  });
});
