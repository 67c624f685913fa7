import { expect } from 'chai';
import type { RecordedEvent } from '../../src/core/envelope';
import { fencedCheckpoints, LeaseFencedError, SqlLeaseStore } from '../../src/leader';
import { relayCheckpointName, startRelayLeadership, type RelayLeadership } from '../../src/relay';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { appendEvents, checkOrderPerStream, eventually, openTestLog, readTopic, type TestLog } from './event-log-fixture';

describe('Relay leadership: one relay publishes, standbys take over', function () {
  this.timeout(60_000);
  let broker: KafkaBroker;
  let log: TestLog;
  const candidates: RelayLeadership[] = [];

  before(async () => {
    broker = await startKafkaBroker();
    log = await openTestLog();
  });
  after(async () => {
    await Promise.all(candidates.map((c) => c.stop().catch(() => {})));
    await log?.close();
    await broker?.stop();
  });

  const candidate = (holder: string, topic: string, more: Partial<Parameters<typeof startRelayLeadership>[0]> = {}) => {
    const c = startRelayLeadership({
      store: log.store,
      checkpoints: log.checkpoints,
      leases: new SqlLeaseStore(log.knex),
      relay: { brokers: broker.brokers, topic },
      ttlMs: 1_000,
      holder,
      ...more,
    });
    candidates.push(c);
    return c;
  };
  const published = (topic: string) => broker.highWatermarks(topic).reduce((a, b) => a + b, 0);

  it('publishes every event once with two candidates, and the standby resumes from the checkpoint when the leader dies', async () => {
    const topic = 'lead.events.v1';
    const first = await appendEvents(log.store, 20, 15);
    const a = candidate('relay-a', topic);
    const b = candidate('relay-b', topic);
    await eventually(() => a.isLeader() || b.isLeader(), 'a relay leader');
    const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
    await eventually(() => published(topic) >= first.length, `${first.length} events published`);
    // Only the leader ever published: nothing twice.
    expect(published(topic)).to.equal(first.length);
    expect(standby.isLeader()).to.equal(false);
    expect(standby.relay()).to.equal(undefined);
    // Kafka acknowledged before the checkpoint is saved: the leader's position follows.
    await eventually(() => leader.relay()?.position === first[first.length - 1].position, 'the leader to checkpoint what it published');

    // The leader dies without releasing its lease (as a killed process does): the standby waits out the TTL.
    await leader.stop({ release: false });
    const second = await appendEvents(log.store, 20, 10);
    await eventually(() => standby.isLeader(), 'the standby to take the lease', 10_000);
    await eventually(() => published(topic) >= first.length + second.length, 'the standby to publish the rest');
    expect(published(topic)).to.equal(first.length + second.length);

    const received = await readTopic(broker.brokers, topic, first.length + second.length);
    const ids = received.map((m) => (JSON.parse(m.value) as RecordedEvent).id);
    expect(new Set(ids)).to.deep.equal(new Set([...first, ...second].map((e) => e.id)));
    checkOrderPerStream(received);
    await eventually(async () => (await log.checkpoints.load(relayCheckpointName(topic))) === second[second.length - 1].position, 'the new leader to checkpoint');
  });

  it('refuses a deposed term its checkpoint save, so the checkpoint never moves back', async () => {
    const leases = new SqlLeaseStore(log.knex);
    const lease = 'relay:fenced.events.v1';
    const old = (await leases.acquire(lease, 'old', 60_000))!;
    const fenced = fencedCheckpoints(log.checkpoints, leases, lease, old);
    await fenced.save(lease, 10);
    await leases.release(lease, 'old');
    const newer = (await leases.acquire(lease, 'new', 60_000))!;
    expect(newer).to.be.greaterThan(old);
    await log.checkpoints.save(lease, 20);

    const err = await fenced.save(lease, 15).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(LeaseFencedError);
    expect(await log.checkpoints.load(lease)).to.equal(20);
  });

  // The relay's info line for a replay goes through the leadership's `log`, the one `openmcp start` gives its logger.
  it("logs the leader's finding its checkpoint set back through the leadership's log", async () => {
    const topic = 'lead-replay.events.v1';
    const lines: string[] = [];
    const stored = await appendEvents(log.store, 4, 5);
    const c = candidate('relay-replay', topic, { relay: { brokers: broker.brokers, topic, checkpointPollMs: 50 }, log: (l) => lines.push(l) });
    await eventually(() => c.relay()?.position === stored[stored.length - 1].position, 'the leader to publish everything');
    await log.checkpoints.save(relayCheckpointName(topic), stored[9].position);
    await eventually(() => lines.some((l) => l.includes('was set back')), 'the set-back line', 10_000);
    expect(lines.filter((l) => l.includes('was set back'))).to.deep.equal([
      `relay: checkpoint ${relayCheckpointName(topic)} was set back from position ${stored[stored.length - 1].position} to ${stored[9].position}: publishing again from position ${stored[9].position + 1} (consumers drop the repeats by event-id)`,
    ]);
  });
});
