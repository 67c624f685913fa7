import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import { buildProof } from '../../src/proofs/batches';
import { ProofPendingError, WAITS_FOR_ANOTHER_EVENT } from '../../src/proofs/errors';
import { createSealer } from '../../src/proofs/sealer';
import { queries, SEALER_KEY, submitTasks } from './pipeline-fixture';
import { runEventsProof } from '../../src/cli/events-proof';
import { ConflictApiError } from '../../src/sdk/errors';
import type { OpenMcpClient } from '../../src/sdk/client';
import { openKurrentEventStore } from '../../src/eventstore/kurrentdb';
import type { EventStore } from '../../src/eventstore/port';
import { startKurrentFake, type KurrentFake } from '../support/kurrentdb-fake';

async function pendingDetail(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(ProofPendingError);
    return (err as ProofPendingError).message;
  }
  return expect.fail('the proof should be pending');
}

/**
 * What an auditor asking too early is told. A batch holding only BatchSealed/BatchAnchored is not
 * sealed on time alone (an idle log would seal its own bookkeeping forever), so the proof of such
 * an event waits for the next other event: `Retry-After` alone would have them poll for ever.
 */
describe('PROOF_PENDING says what the proof waits for', () => {
  let dir: string;
  let store: SqlEventStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openmcp-proof-pending-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an unsealed event waits for its batch; an unsealed BatchSealed waits for another event as well; a sealed one for its anchor', async () => {
    const [task] = await submitTasks(store, 1);
    const q = queries(store, async () => undefined);
    expect(await pendingDetail(buildProof(q, task.id))).to.equal(`event ${task.id}: its batch is not sealed yet`);

    const sealed = await createSealer(store, { sealerKey: SEALER_KEY, maxEvents: 1000, maxWaitMs: 0 }).flush();
    expect(sealed?.batchId).to.equal(0);
    expect(await pendingDetail(buildProof(q, task.id))).to.equal(`event ${task.id}: its batch is not anchored yet`);

    const bookkeeping = sealed!.eventId;
    expect(await pendingDetail(buildProof(q, bookkeeping))).to.equal(
      `event ${bookkeeping}: its batch is not sealed yet, and a batch of only BatchSealed and BatchAnchored events is sealed once another event joins it (or it reaches BATCH_MAX_EVENTS)`,
    );
  });

  // Judged by the event's type alone: a BatchSealed followed by a task in the same unsealed batch
  // was said to wait for another event, though that batch is sealed on time (BATCH_MAX_SECONDS).
  it('an unsealed BatchSealed whose batch holds another event already: only "not sealed yet", as Retry-After says', async () => {
    const sealer = createSealer(store, { sealerKey: SEALER_KEY, maxEvents: 1000, maxWaitMs: 0 });
    const sealed = await sealer.flush();
    await submitTasks(store, 1);
    const q = queries(store, async () => undefined);
    expect(await pendingDetail(buildProof(q, sealed!.eventId))).to.equal(`event ${sealed!.eventId}: its batch is not sealed yet`);
  });

  // The two reads of the batch stream are apart: a seal between them put the event's batch behind
  // the "unsealed" read, which then held only the new BatchSealed, and said it waits for another event.
  it('a BatchSealed sealed between the look for its batch and the look at what is unsealed: not said to wait for another event', async () => {
    const sealer = createSealer(store, { sealerKey: SEALER_KEY, maxEvents: 1000, maxWaitMs: 0 });
    const first = await sealer.flush();
    await submitTasks(store, 1);
    await sealer.flush(); // seals `first`'s BatchSealed with the task; its own BatchSealed is all that is unsealed
    const q = queries(store, async () => undefined);
    const stale = { ...q, batchLog: Object.assign(Object.create(q.batchLog), { batchAtPosition: async () => undefined }) };
    expect(await pendingDetail(buildProof(stale, first!.eventId))).to.equal(`event ${first!.eventId}: its batch is not sealed yet`);
  });

  // The unsealed events are read a page at a time, stopping at the first that is not bookkeeping.
  it('bookkeeping over more than one page of the read: waits for another event only if none comes after', async () => {
    const sealer = createSealer(store, { sealerKey: SEALER_KEY, maxEvents: 1000, maxWaitMs: 0 });
    await submitTasks(store, 1);
    const last = await sealer.flush();
    const q = queries(store, async () => undefined);
    const own = await q.findEvent(last!.eventId);
    // The store's own unsealed run (that BatchSealed) continued by a made-up one of 120 more bookkeeping events, then maybe a task.
    const withRun = (then: string[]) => {
      const made = [...Array(120).fill('BatchAnchorSent'), ...then].map((type, i) => ({ type, position: own!.position + 1 + i }));
      const readAll = async (o: { after?: number; limit?: number }) => {
        const all = [own!, ...made].filter((e) => o.after === undefined || e.position > o.after);
        return all.slice(0, o.limit ?? 1000);
      };
      return { ...q, store: Object.assign(Object.create(store), { readAll }) };
    };
    expect(await pendingDetail(buildProof(withRun([]), own!.id))).to.include('sealed once another event joins it');
    expect(await pendingDetail(buildProof(withRun(['TaskSubmitted']), own!.id))).to.equal(`event ${own!.id}: its batch is not sealed yet`);
  });
});

/**
 * On KurrentDB the positions are commit positions with gaps and $all holds the server's own system
 * events, which the sealer skips (the store's readAll does): one after a BatchSealed is not
 * "another event" that gets the batch sealed on time.
 */
describe('PROOF_PENDING on KurrentDB (gRPC fake, real client): a BatchSealed waits for another event, system events aside', function () {
  this.timeout(30_000);
  let fake: KurrentFake;
  let store: EventStore;

  before(async () => {
    fake = await startKurrentFake();
    store = await openKurrentEventStore(fake.url);
  });
  after(async () => {
    await store?.close();
    await fake?.stop();
  });

  it('only BatchSealed and a system event unsealed: waits for another event; once a task follows, only "not sealed yet"', async () => {
    await submitTasks(store, 2);
    const sealed = await createSealer(store, { sealerKey: SEALER_KEY, maxEvents: 1000, maxWaitMs: 0 }).flush();
    fake.seed('$stats-127.0.0.1:2113', '$statsCollected', {});
    const q = queries(store, async () => undefined);
    expect(await pendingDetail(buildProof(q, sealed!.eventId))).to.equal(`event ${sealed!.eventId}: its batch is not sealed yet${WAITS_FOR_ANOTHER_EVENT}`);
    await submitTasks(store, 1);
    expect(await pendingDetail(buildProof(q, sealed!.eventId))).to.equal(`event ${sealed!.eventId}: its batch is not sealed yet`);
  });
});

/**
 * `openmcp events proof` printed "(the event's batch is not anchored yet: try again in 10 s)" under
 * every PROOF_PENDING: for a batch not sealed yet, and for one that waits for another event, which no
 * number of seconds brings.
 */
describe('openmcp events proof: the hint under PROOF_PENDING says what the proof waits for', () => {
  const refusal = (detail: string) =>
    new ConflictApiError({ type: 'about:blank', title: 'Conflict', status: 409, code: 'PROOF_PENDING', detail, retryAfterSeconds: 10 });
  const hintFor = async (err: Error) => {
    const lines: string[] = [];
    const client = { events: { proofFile: async () => Promise.reject(err) } } as unknown as OpenMcpClient;
    expect(await runEventsProof(client, 'e1', {}, (l) => lines.push(l))).to.equal(1);
    return lines[1];
  };

  it('not sealed yet / not anchored yet: says which, and the seconds', async () => {
    expect(await hintFor(refusal('event e1: its batch is not sealed yet'))).to.equal("(the event's batch is not sealed yet: try again in 10 s)");
    expect(await hintFor(refusal('event e1: its batch is not anchored yet'))).to.equal("(the event's batch is not anchored yet: try again in 10 s)");
  });

  it('a batch of bookkeeping only: it waits for another event, not for the seconds', async () => {
    const err = new ProofPendingError('e1', 'unsealed', 10, true);
    expect(await hintFor(refusal(err.message))).to.equal(
      "(the event's batch is sealed only once another event is recorded (a task, a tool call, a key issued): ask again after one is, 10 s or more after it)",
    );
  });
});

