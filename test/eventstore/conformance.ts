import { expect } from 'chai';
import { createEvent, verifyEventHash, type PendingEvent, type RecordedEvent } from '../../src/core/envelope';
import { WrongExpectedRevisionError } from '../../src/core/errors';
import { newId } from '../../src/core/ids';
import type { EventStore } from '../../src/eventstore/port';
import { readBatchEvents } from '../../src/proofs/batch-log';

/** What an adapter's test file provides to the shared conformance suite. */
export type ConformanceTarget = {
  /** A fresh, empty store (its own database / stream namespace). Called once per suite. */
  open(): Promise<EventStore>;
  /** Another independent connection to the same store, as a second process would have. */
  openAnother?(): Promise<EventStore>;
  /** Drop what `open` created. */
  cleanup?(): Promise<void>;
  /** SQL stores: positions are 0,1,2,… with no holes. */
  gapFreePositions: boolean;
  /** SQL stores: run a raw UPDATE and a raw DELETE against the events table. */
  tamper?: { update(): Promise<unknown>; delete(): Promise<unknown> };
};

const actor = { kind: 'user' as const, id: 'alice' };

function ev(stream: string, type = 'TaskStarted', data: Record<string, unknown> = {}): PendingEvent {
  return createEvent({ type, stream, tenant: 'acme', actor, data });
}

function streamName(prefix = 'task'): string {
  return `${prefix}-${newId()}`;
}

async function take(sub: AsyncIterable<RecordedEvent>, n: number, timeoutMs = 15000): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  const it = sub[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`subscription gave ${out.length} of ${n} events in time`);
    const r = await Promise.race([
      it.next(),
      new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), left)),
    ]);
    if (r === 'timeout') throw new Error(`subscription gave ${out.length} of ${n} events in time`);
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** Every EventStore adapter must pass this suite. */
export function eventStoreConformance(name: string, target: ConformanceTarget): void {
  describe(`EventStore conformance: ${name}`, function () {
    this.timeout(60_000);
    let store: EventStore;

    before(async function () {
      store = await target.open();
    });
    after(async function () {
      await store?.close();
      await target.cleanup?.();
    });

    it('appends to a new stream with revisions 0..n-1 and reads them back intact', async () => {
      const s = streamName();
      const events = [ev(s, 'TaskSubmitted', { instruction: 'hi', agentId: 'a-1' }), ev(s), ev(s, 'TaskCompleted', { output: { n: 1, list: ['x', null] } })];
      const res = await store.append(s, events, { expectedRevision: 'no_stream' });
      expect(res.nextExpectedRevision).to.equal(2);
      expect(res.events.map((e) => e.revision)).to.deep.equal([0, 1, 2]);
      const read = await store.readStream(s);
      expect(read.map((e) => e.id)).to.deep.equal(events.map((e) => e.id));
      read.forEach((r, i) => {
        const { revision, position, ...content } = r;
        expect(content).to.deep.equal(events[i]);
        expect(verifyEventHash(r)).to.equal(true);
        expect(position).to.equal(res.events[i].position);
        expect(revision).to.equal(i);
      });
      expect(res.position).to.equal(res.events[2].position);
      expect(res.events[1].position).to.be.greaterThan(res.events[0].position);
    });

    it('keeps optional fields absent and correlation fields present', async () => {
      const s = streamName();
      const e = createEvent({ type: 'TaskStarted', stream: s, tenant: 't', actor, data: {}, correlationId: 'req-1', causationId: 'c-1' });
      const plain = ev(s);
      await store.append(s, [e, plain]);
      const [a, b] = await store.readStream(s);
      expect(a.correlationId).to.equal('req-1');
      expect(a.causationId).to.equal('c-1');
      expect(b).to.not.have.property('correlationId');
      expect(b).to.not.have.property('causationId');
    });

    it('rejects no_stream on an existing stream with a typed error', async () => {
      const s = streamName();
      await store.append(s, [ev(s)], { expectedRevision: 'no_stream' });
      const err = await store.append(s, [ev(s)], { expectedRevision: 'no_stream' }).catch((e) => e);
      expect(err).to.be.instanceOf(WrongExpectedRevisionError);
      expect(err.code).to.equal('WRONG_EXPECTED_REVISION');
      expect(await store.readStream(s)).to.have.length(1);
    });

    it('checks an exact expected revision', async () => {
      const s = streamName();
      await store.append(s, [ev(s), ev(s)], { expectedRevision: 'no_stream' });
      const ok = await store.append(s, [ev(s)], { expectedRevision: 1 });
      expect(ok.nextExpectedRevision).to.equal(2);
      const stale = await store.append(s, [ev(s)], { expectedRevision: 1 }).catch((e) => e);
      expect(stale).to.be.instanceOf(WrongExpectedRevisionError);
      const other = streamName();
      const missing = await store.append(other, [ev(other)], { expectedRevision: 0 }).catch((e) => e);
      expect(missing).to.be.instanceOf(WrongExpectedRevisionError);
      expect(await store.readStream(s)).to.have.length(3);
    });

    it("appends with 'any' regardless of the stream's state", async () => {
      const s = streamName();
      await store.append(s, [ev(s)], { expectedRevision: 'any' });
      const r = await store.append(s, [ev(s)], { expectedRevision: 'any' });
      expect(r.nextExpectedRevision).to.equal(1);
    });

    it('lets exactly one of two racing appends at the same revision win', async () => {
      const s = streamName();
      await store.append(s, [ev(s)], { expectedRevision: 'no_stream' });
      const results = await Promise.allSettled([
        store.append(s, [ev(s)], { expectedRevision: 0 }),
        store.append(s, [ev(s)], { expectedRevision: 0 }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(failed.reason).to.be.instanceOf(WrongExpectedRevisionError);
      expect(await store.readStream(s)).to.have.length(2);
    });

    it('treats a re-append of the same event ids as idempotent', async () => {
      const s = streamName();
      const events = [ev(s), ev(s)];
      const first = await store.append(s, events, { expectedRevision: 'no_stream' });
      const again = await store.append(s, events, { expectedRevision: 'no_stream' });
      expect(again.nextExpectedRevision).to.equal(first.nextExpectedRevision);
      expect(again.events.map((e) => e.position)).to.deep.equal(first.events.map((e) => e.position));
      expect(await store.readStream(s)).to.have.length(2);
      // By the stream's name: KurrentDB refuses a read of $all from a position inside a record (position - 1).
      const all = await store.readAll({ streamPrefix: s });
      expect(all.filter((e) => e.id === events[0].id)).to.have.length(1);
    });

    it('refuses a re-append of stored event ids with other content (EVENT_ID_CONFLICT), keeping the original', async () => {
      const s = streamName();
      const e = ev(s, 'TaskStarted', { a: 1 });
      await store.append(s, [e], { expectedRevision: 'no_stream' });
      const forged = createEvent({ ...e, data: { a: 2 } });
      const err = await store.append(s, [forged], { expectedRevision: 'no_stream' }).then(() => undefined, (x: { code?: string }) => x.code);
      expect(err).to.equal('EVENT_ID_CONFLICT');
      const [back] = await store.readStream(s);
      expect(back.data).to.deep.equal({ a: 1 });
    });

    it('rejects bad input before it reaches the store, naming the field (VALIDATION_FAILED)', async () => {
      const s = streamName();
      const e = ev(s);
      const before = await store.headPosition();
      const failure = (p: Promise<unknown>) => p.then(() => undefined, (x: { code?: string; details?: { field?: string } }) => [x.code, x.details?.field]);
      expect(await failure(store.append('not a stream', [e]))).to.deep.equal(['VALIDATION_FAILED', 'stream']);
      expect(await failure(store.append(streamName(), [e]))).to.deep.equal(['VALIDATION_FAILED', 'stream']);
      expect(await failure(store.append(s, []))).to.deep.equal(['VALIDATION_FAILED', 'events']);
      expect(await failure(store.append(s, [e, e]))).to.deep.equal(['VALIDATION_FAILED', 'id']);
      expect(await store.headPosition()).to.equal(before);
      expect(await store.readStream(s)).to.deep.equal([]);
    });

    it('refuses an envelope some store could not keep or give back whole, naming the field, and stays usable', async () => {
      // KurrentDB keeps ids as UUIDs and returns them in lowercase, and calls `$` types its own:
      // such an event was written there, then read as not ours (its stream unreadable, readAll
      // skipping it); MariaDB's columns refused a longer stream or tenant with a raw 500; SQLite took all.
      const s = streamName();
      const make = (o: { id?: string; type?: string; tenant?: string; stream?: string }) =>
        createEvent({ type: o.type ?? 'TaskStarted', stream: o.stream ?? s, tenant: o.tenant ?? 'acme', actor, data: {}, id: o.id });
      const long = `${'a'.repeat(60)}-${newId()}${'x'.repeat(120)}`;
      const before = await store.headPosition();
      const failure = (p: Promise<unknown>) => p.then(() => undefined, (x: { code?: string; details?: { field?: string } }) => [x.code, x.details?.field]);
      expect(await failure(store.append(s, [make({ id: newId().toUpperCase() })])), 'an upper-case id').to.deep.equal(['VALIDATION_FAILED', 'id']);
      expect(await failure(store.append(s, [make({ id: 'event-1' })])), 'an id that is not a UUID').to.deep.equal(['VALIDATION_FAILED', 'id']);
      expect(await failure(store.append(s, [make({ type: '$metadata' })])), 'a $ type').to.deep.equal(['VALIDATION_FAILED', 'type']);
      expect(await failure(store.append(s, [make({ tenant: 't'.repeat(101) })])), 'a tenant over 100').to.deep.equal(['VALIDATION_FAILED', 'tenant']);
      expect(await failure(store.append(long, [make({ stream: long })])), 'a stream over 200').to.deep.equal(['VALIDATION_FAILED', 'stream']);
      expect(await store.headPosition()).to.equal(before);
      expect(await store.readStream(s)).to.deep.equal([]);
      expect((await store.append(s, [ev(s)], { expectedRevision: 'no_stream' })).nextExpectedRevision).to.equal(0);
    });

    it('refuses a hash that is not 0x and 64 lowercase hex digits (hash), writing nothing', async () => {
      // Once stored it could never leave the append-only log, and the sealer, which never skips
      // an event, would stop on it for good (as would consumers checking the envelope schema).
      const s = streamName();
      const e = ev(s);
      const before = await store.headPosition();
      for (const hash of ['0xnot-a-hash', e.hash.toUpperCase().replace('0X', '0x'), e.hash.slice(0, -2), undefined]) {
        const err = await store.append(s, [{ ...e, hash: hash as PendingEvent['hash'] }]).then(() => undefined, (x: { code?: string; details?: { field?: string } }) => [x.code, x.details?.field]);
        expect(err, String(hash)).to.deep.equal(['VALIDATION_FAILED', 'hash']);
      }
      expect(await store.headPosition()).to.equal(before);
      expect(await store.readStream(s)).to.deep.equal([]);
    });

    it('reads a missing stream as empty', async () => {
      expect(await store.readStream(streamName())).to.deep.equal([]);
    });

    it('reads a stream backwards, from a revision, and up to a count', async () => {
      const s = streamName();
      await store.append(s, [ev(s), ev(s), ev(s), ev(s)]);
      expect((await store.readStream(s, { direction: 'backwards' })).map((e) => e.revision)).to.deep.equal([3, 2, 1, 0]);
      expect((await store.readStream(s, { fromRevision: 2 })).map((e) => e.revision)).to.deep.equal([2, 3]);
      expect((await store.readStream(s, { maxCount: 2 })).map((e) => e.revision)).to.deep.equal([0, 1]);
      expect((await store.readStream(s, { direction: 'backwards', maxCount: 1 })).map((e) => e.revision)).to.deep.equal([3]);
    });

    it('reads all events in increasing position order, paged with after/limit', async () => {
      const s1 = streamName();
      const s2 = streamName();
      const head = await store.headPosition();
      await store.append(s1, [ev(s1)]);
      await store.append(s2, [ev(s2), ev(s2)]);
      await store.append(s1, [ev(s1)]);
      const all = await store.readAll({ after: head });
      const mine = all.filter((e) => e.stream === s1 || e.stream === s2);
      expect(mine.map((e) => e.stream)).to.deep.equal([s1, s2, s2, s1]);
      for (let i = 1; i < all.length; i++) expect(all[i].position).to.be.greaterThan(all[i - 1].position);
      const page1 = await store.readAll({ after: head, limit: 2 });
      const page2 = await store.readAll({ after: page1[page1.length - 1].position, limit: 2 });
      expect([...page1, ...page2].map((e) => e.id)).to.deep.equal(all.slice(0, 4).map((e) => e.id));
      expect(await store.headPosition()).to.equal(all[all.length - 1].position);
      if (target.gapFreePositions) {
        for (let i = 1; i < all.length; i++) expect(all[i].position).to.equal(all[i - 1].position + 1);
      }
    });

    it('reads all events from a position inclusive (from), as a sealed batch is read back: never from a position no event holds', async () => {
      const s = streamName();
      await store.append(s, [ev(s)]);
      const [, second, third] = (await store.append(s, [ev(s), ev(s), ev(s)])).events.map((e) => e.position);
      const read = await store.readAll({ from: second, limit: 2 });
      expect(read.map((e) => e.position)).to.deep.equal([second, third]);
      expect(read.map((e) => e.revision)).to.deep.equal([2, 3]);
      let err: unknown;
      await store.readAll({ from: second, after: second }).catch((e: unknown) => (err = e));
      expect(err, 'from and after together').to.be.instanceOf(Error);
      expect(String((err as Error).message)).to.match(/from.*after|after.*from/);
    });

    it('reads a sealed batch back from its first position (readBatchEvents)', async () => {
      const s = streamName();
      await store.append(s, [ev(s), ev(s)]);
      const written = (await store.append(s, [ev(s), ev(s), ev(s)])).events;
      const batch = { firstPosition: written[0].position, lastPosition: written[2].position, firstSeq: 10, lastSeq: 12 };
      expect((await readBatchEvents(store, batch)).map((e) => e.id)).to.deep.equal(written.map((e) => e.id));
    });

    it('reads at most 1000 events when no limit is given, and says whether its positions are gap-free', async () => {
      const s = streamName();
      const head = await store.headPosition();
      await store.append(s, Array.from({ length: 1001 }, () => ev(s)));
      const page = await store.readAll({ after: head });
      expect(page).to.have.length(1000);
      expect(page[999].revision).to.equal(999);
      expect(Boolean(store.gapFreePositions)).to.equal(target.gapFreePositions);
    });

    it('catches up from a position, then follows live appends', async () => {
      const s = streamName();
      const head = await store.headPosition();
      await store.append(s, [ev(s), ev(s), ev(s)]);
      const sub = store.subscribeAll({ after: head });
      try {
        const caught = await take(sub, 3);
        expect(caught.map((e) => e.revision)).to.deep.equal([0, 1, 2]);
        const later = store.append(s, [ev(s), ev(s)]);
        const live = await take(sub, 2);
        await later;
        expect(live.map((e) => e.revision)).to.deep.equal([3, 4]);
        expect(live[0].position).to.be.greaterThan(caught[2].position);
      } finally {
        await sub.close();
      }
    });

    it('follows only the streams under a prefix: catch-up, then live, from this and another connection', async () => {
      const agg = `f${newId().replace(/-/g, '').slice(-12)}`;
      const prefix = `${agg}-`;
      const a = `${prefix}${newId()}`;
      const b = `${prefix}${newId()}`;
      const other = streamName();
      const head = await store.headPosition();
      await store.append(other, [ev(other)]);
      await store.append(a, [ev(a), ev(a)]);
      await store.append(other, [ev(other)]);
      await store.append(b, [ev(b)]);
      const sub = store.subscribeAll({ after: head, streamPrefix: prefix });
      const writer = target.openAnother ? await target.openAnother() : store;
      try {
        const caught = await take(sub, 3);
        expect(caught.map((e) => [e.stream, e.revision])).to.deep.equal([[a, 0], [a, 1], [b, 0]]);
        for (let i = 0; i < 5; i++) {
          const o = streamName();
          await store.append(o, [ev(o)]);
        }
        await writer.append(a, [ev(a)], { expectedRevision: 1 });
        await store.append(other, [ev(other)]);
        await store.append(b, [ev(b)], { expectedRevision: 0 });
        const live = await take(sub, 2);
        expect(live.map((e) => [e.stream, e.revision])).to.deep.equal([[a, 2], [b, 1]]);
        const all = await store.readAll({ after: head });
        expect([...caught, ...live].map((e) => e.position), 'global positions, in order').to.deep.equal(
          all.filter((e) => e.stream.startsWith(prefix)).map((e) => e.position),
        );
        expect(() => store.subscribeAll({ streamPrefix: '' }), 'an empty prefix is refused').to.throw(/streamPrefix/);
      } finally {
        await sub.close();
        if (writer !== store) await writer.close();
      }
    });

    it('reads only the streams under a prefix, in global order, paged with after/limit', async () => {
      const agg = `r${newId().replace(/-/g, '').slice(-12)}`;
      const a = `${agg}-${newId()}`;
      const b = `${agg}-B${newId()}`;
      const lookalike = `${agg}-b${b.slice(agg.length + 2)}`; // differs from b in case only
      const neighbours = [`${agg}x-${newId()}`, `${agg.slice(0, -1)}-${newId()}`];
      const head = await store.headPosition();
      for (const o of neighbours) await store.append(o, [ev(o)]);
      await store.append(a, [ev(a), ev(a)]);
      for (let i = 0; i < 5; i++) {
        const o = streamName();
        await store.append(o, [ev(o)]);
      }
      await store.append(lookalike, [ev(lookalike)]);
      await store.append(b, [ev(b)]);
      await store.append(a, [ev(a)], { expectedRevision: 1 });
      await store.append(neighbours[0], [ev(neighbours[0])]);
      const all = await store.readAll({ after: head });
      const mine = (prefix: string) => all.filter((e) => e.stream.startsWith(prefix)).map((e) => [e.stream, e.revision, e.position]);

      const read = await store.readAll({ after: head, streamPrefix: `${agg}-` });
      expect(read.map((e) => [e.stream, e.revision, e.position])).to.deep.equal(mine(`${agg}-`));
      expect(read.map((e) => [e.stream, e.revision])).to.deep.equal([[a, 0], [a, 1], [lookalike, 0], [b, 0], [a, 2]]);
      expect(read[0].hash).to.equal(all.find((e) => e.id === read[0].id)!.hash);

      const paged: RecordedEvent[] = [];
      for (let after = head; ; ) {
        const page = await store.readAll({ after, limit: 2, streamPrefix: `${agg}-` });
        expect(page.length).to.be.at.most(2);
        paged.push(...page);
        if (page.length < 2) break;
        after = page[page.length - 1].position;
      }
      expect(paged.map((e) => e.id), 'pages of 2 give the same events').to.deep.equal(read.map((e) => e.id));

      const exact = await store.readAll({ after: head, streamPrefix: `${agg}-B` });
      expect(exact.map((e) => e.stream), 'the prefix is matched with its case').to.deep.equal([b]);
      expect(await store.readAll({ after: head, limit: 1, streamPrefix: `${agg}-B` })).to.have.length(1);
      expect(await store.readAll({ after: read[read.length - 1].position, streamPrefix: `${agg}-` })).to.deep.equal([]);
      expect((await store.readAll({ after: head, streamPrefix: agg })).map((e) => e.stream), 'a prefix without its hyphen takes longer aggregate names too')
        .to.deep.equal([neighbours[0], a, a, lookalike, b, a, neighbours[0]]);
      for (const bad of ['', 'Task-', '-x', 'a b']) {
        let err: unknown;
        await store.readAll({ streamPrefix: bad }).catch((e: unknown) => (err = e));
        expect(String(err), `prefix ${JSON.stringify(bad)}`).to.match(/streamPrefix/);
      }
    });

    it('appends 40 large events at once (a group commit over MySQL\'s 16 MiB packet), each readable whole', async function () {
      this.timeout(60_000);
      const text = 'z'.repeat(500_000);
      const streams = Array.from({ length: 40 }, () => streamName('toolcall'));
      const results = await Promise.all(streams.map((s, i) => store.append(s, [ev(s, 'TaskStarted', { text, i })], { expectedRevision: 'no_stream' })));
      expect(results.map((r) => r.nextExpectedRevision)).to.deep.equal(streams.map(() => 0));
      for (const i of [0, 39]) {
        const [e] = await store.readStream(streams[i]);
        expect(e.data).to.deep.equal({ text, i });
        expect(verifyEventHash(e)).to.equal(true);
      }
    });

    it('never lets a live reader skip an event while 16 independent writers append', async function () {
      const writers: EventStore[] = [];
      for (let i = 0; i < 16; i++) writers.push(target.openAnother ? await target.openAnother() : store);
      const head = await store.headPosition();
      const sub = store.subscribeAll({ after: head });
      const perWriter = 15;
      try {
        const reading = take(sub, 16 * perWriter, 50_000);
        await Promise.all(
          writers.map(async (w, i) => {
            for (let j = 0; j < perWriter; j++) {
              const s = j % 3 === 0 ? `task-shared-${i % 4}-${head}` : streamName();
              await w.append(s, [ev(s, 'TaskStarted', { writer: i, n: j })], { expectedRevision: 'any' });
            }
          }),
        );
        const seen = await reading;
        const all = await store.readAll({ after: head });
        expect(all).to.have.length(16 * perWriter);
        expect(seen.map((e) => e.position)).to.deep.equal(all.map((e) => e.position));
        expect(new Set(seen.map((e) => e.id)).size).to.equal(seen.length);
        if (target.gapFreePositions) {
          all.forEach((e, i) => expect(e.position).to.equal(head + 1 + i));
        }
      } finally {
        await sub.close();
        if (target.openAnother) await Promise.all(writers.map((w) => w.close()));
      }
    });

    if (target.tamper) {
      it('rejects UPDATE and DELETE on the events table in the database itself', async () => {
        const s = streamName();
        await store.append(s, [ev(s)]);
        const u = await target.tamper!.update().then(() => null, (e) => e);
        const d = await target.tamper!.delete().then(() => null, (e) => e);
        expect(u, 'UPDATE must fail').to.be.instanceOf(Error);
        expect(String(u.message)).to.match(/append-only/);
        expect(d, 'DELETE must fail').to.be.instanceOf(Error);
        expect(String(d.message)).to.match(/append-only/);
        const [back] = await store.readStream(s);
        expect(verifyEventHash(back)).to.equal(true);
      });
    }
  });
}
