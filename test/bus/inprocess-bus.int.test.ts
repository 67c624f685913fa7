import { expect } from 'chai';
import { InProcessBus, busCheckpointName } from '../../src/bus/inprocess';
import type { RecordedEvent } from '../../src/core/envelope';
import { appendEvents, eventually, openTestLog, type TestLog } from '../relay/event-log-fixture';

describe('InProcessBus (SQL event store on SQLite)', function () {
  this.timeout(30_000);
  let log: TestLog;
  let stored: RecordedEvent[];

  before(async () => {
    log = await openTestLog();
    stored = await appendEvents(log.store, 20, 50);
  });
  after(async () => log?.close());

  it('delivers the whole log in global order, in batches, then live appends', async () => {
    const bus = new InProcessBus(log.store, log.checkpoints, { maxBatch: 100 });
    const seen: RecordedEvent[] = [];
    const sizes: number[] = [];
    await bus.consume('order', async (batch) => {
      sizes.push(batch.length);
      seen.push(...batch);
    });
    await eventually(() => seen.length === stored.length, 'the backlog');
    expect(seen.map((e) => e.id)).to.deep.equal(stored.map((e) => e.id));
    expect(Math.max(...sizes)).to.be.at.most(100);
    expect(sizes.length).to.be.lessThan(stored.length / 10);
    const more = await appendEvents(log.store, 1, 3);
    await eventually(() => seen.length === stored.length + 3, 'the live appends');
    expect(seen.slice(-3).map((e) => e.id)).to.deep.equal(more.map((e) => e.id));
    await bus.close();
    stored.push(...more);
  });

  it('redelivers a batch whose handler failed (at least once), without skipping or reordering', async () => {
    const errors: unknown[] = [];
    const bus = new InProcessBus(log.store, log.checkpoints, { maxBatch: 64, onError: (e) => errors.push(e) });
    const seen: RecordedEvent[] = [];
    let failed = false;
    await bus.consume('flaky', async (batch) => {
      if (!failed && seen.length >= 200) {
        failed = true;
        throw new Error('handler down');
      }
      seen.push(...batch);
    });
    await eventually(() => seen.length === stored.length, 'every event');
    await bus.close();
    expect(errors).to.have.length(1);
    expect(seen.map((e) => e.position)).to.deep.equal(stored.map((e) => e.position));
  });

  it('resumes a group from its checkpoint, which is saved only after the handler resolved', async () => {
    const bus = new InProcessBus(log.store, log.checkpoints, { maxBatch: 50 });
    const first: RecordedEvent[] = [];
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const consumer = await bus.consume('resume', async (batch) => {
      first.push(...batch);
      if (first.length >= 300) await blocked;
    });
    await eventually(() => first.length >= 300, 'the first run');
    // The handler holds a batch: its checkpoint must not be written yet.
    const during = await log.checkpoints.load(busCheckpointName('resume'));
    expect(during).to.be.lessThan(first[first.length - 1].position);
    const stopping = consumer.stop();
    release();
    await stopping;
    const cp = await log.checkpoints.load(busCheckpointName('resume'));
    expect(cp).to.equal(first[first.length - 1].position);

    const second: RecordedEvent[] = [];
    const again = await bus.consume('resume', async (batch) => void second.push(...batch));
    await eventually(() => first.length + second.length === stored.length, 'the rest');
    await again.stop();
    expect([...first, ...second].map((e) => e.id)).to.deep.equal(stored.map((e) => e.id));
  });

  it("starts a new group at the end of the log with start: 'end'", async () => {
    const bus = new InProcessBus(log.store, log.checkpoints);
    const seen: RecordedEvent[] = [];
    const c = await bus.consume('tail', async (batch) => void seen.push(...batch), { start: 'end' });
    const more = await appendEvents(log.store, 1, 2);
    await eventually(() => seen.length === 2, 'the new events');
    await c.stop();
    expect(seen.map((e) => e.id)).to.deep.equal(more.map((e) => e.id));
  });
});
