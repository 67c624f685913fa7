import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { eventsTopic } from '../../src/bus/kafka/topic';
import { readTopic } from '../relay/event-log-fixture';
import { startCluster, type Cluster, type ClusterProcess } from '../support/cluster';
import { mysqlAvailable, redisAvailable, requireService } from '../support/services';

type Dependency = { name: string; state: string; detail?: string };

/**
 * Two processes running the single-leader roles (relay, sealer, anchorer) against MariaDB, Redis
 * and the Kafka test broker, as `openmcp start --roles relay,sealer,anchorer` twice: /readyz of each
 * says which one leads each role; SIGKILL the relay leader and the other process takes the relay
 * over within LEADER_LEASE_MS, publishing what was appended meanwhile.
 */
describe('single leaders across processes: /readyz shows leader and standby, a standby takes over (LEADER_LEASE_MS)', function () {
  this.timeout(180_000);
  let cluster: Cluster;
  let store: EventStore;
  let a: ClusterProcess;
  let b: ClusterProcess;

  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    await requireService(this, 'Redis', redisAvailable);
    cluster = await startCluster({ LEADER_LEASE_MS: '2000' });
    [a, b] = await Promise.all([cluster.spawn('leaders-a', 'relay,sealer,anchorer'), cluster.spawn('leaders-b', 'relay,sealer,anchorer')]);
    store = await openSqlEventStore(cluster.databaseUrl);
  });
  after(async () => {
    await store?.close();
    await cluster?.close();
  });

  const readiness = async (p: ClusterProcess): Promise<Dependency[]> => ((await (await fetch(`${p.url}/readyz`)).json()) as { dependencies: Dependency[] }).dependencies;
  const roleOf = (deps: Dependency[], prefix: string) => deps.find((d) => d.name.startsWith(prefix));
  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const append = async (n: number) => {
    const stream = `task-${newId()}`;
    const events = Array.from({ length: n }, (_, i) =>
      createEvent({ type: i === 0 ? 'TaskSubmitted' : 'TaskStepRecorded', stream, tenant: 'acme', actor: { kind: 'system', id: 'test' }, data: { i } }),
    );
    await store.append(stream, events);
    return events.map((e) => e.id);
  };

  it('names exactly one leader per role; the standby takes the relay over when the leader is killed, and nothing is left unpublished', async () => {
    // Each role has one leader among the two processes, the other says standby (both ready).
    const [leaderOf] = await until('a leader for every role', async () => {
      const [da, db] = await Promise.all([readiness(a), readiness(b)]);
      const leaders: Record<string, ClusterProcess> = {};
      for (const role of ['relay', 'sealer', 'anchorer']) {
        const [ra, rb] = [roleOf(da, role), roleOf(db, role)];
        expect(ra?.state, `${role} on a`).to.equal('up');
        expect(rb?.state, `${role} on b`).to.equal('up');
        const la = ra!.detail!.startsWith('leader');
        const lb = rb!.detail!.startsWith('leader');
        expect(la && lb, `two ${role} leaders`).to.equal(false);
        if (!la && !lb) return undefined;
        leaders[role] = la ? a : b;
      }
      return [leaders];
    });
    const first = await append(20);
    const relayLeader = leaderOf.relay;
    const standby = relayLeader === a ? b : a;
    expect(roleOf(await readiness(standby), 'relay')!.detail).to.equal('standby');

    await relayLeader.stop('SIGKILL');
    const second = await append(20);
    const took = Date.now();
    await until('the standby to lead the relay', async () => (roleOf(await readiness(standby), 'relay')!.detail!.startsWith('leader') ? true : undefined));
    expect(Date.now() - took, 'within about one lease (2 s) and its renewal').to.be.lessThan(15_000);

    const topic = eventsTopic(cluster.env.KAFKA_TOPIC_PREFIX);
    const received = await readTopic(cluster.broker.brokers, topic, first.length + second.length);
    const ids = new Set(received.map((m) => (JSON.parse(m.value) as { id: string }).id));
    for (const id of [...first, ...second]) expect(ids.has(id), `event ${id} published`).to.equal(true);
  });
});
