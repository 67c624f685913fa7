/**
 * The stopped-consumer readiness line and gauge over several groups in one process: each group's
 * line and series say only its own members, and a group with one member stopped among running
 * ones is not ready.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { KAFKA_CONSUMERS_STOPPED_METRIC, kafkaConsumerReadiness, trackKafkaConsumers, type ConsumerState } from '../../src/bus/kafka/consumer-health';

const since = new Date('2026-12-07T10:00:00Z');
const running = (group: string): ConsumerState => ({ group, state: 'running', since, restarts: 0 });
const restarting = (group: string): ConsumerState => ({ group, state: 'restarting', since, reason: 'GROUP_AUTHORIZATION_FAILED: no', restartAt: new Date(Date.now() + 60_000), restarts: 2 });

async function gauge(registry: Registry): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === KAFKA_CONSUMERS_STOPPED_METRIC);
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.group), v.value]));
}

describe('kafka consumer health: several groups in one process', () => {
  it('each group has its own readiness line and gauge series; one stopped member of a group makes that group alone degraded', async () => {
    let states: ConsumerState[] = [running('a'), restarting('a'), running('b')];
    const source = { consumerStates: () => states };
    const registry = new Registry();
    trackKafkaConsumers(registry, source);

    const a = await kafkaConsumerReadiness(source, 'a').check();
    expect(a.state).to.equal('degraded');
    expect(a.detail).to.match(/^group a stopped since 2026-12-07T10:00:00\.000Z: GROUP_AUTHORIZATION_FAILED: no; restarting in \d+ s \(restart 3\)/);
    expect(await kafkaConsumerReadiness(source, 'b').check()).to.deep.equal({ state: 'up', detail: 'group b consuming' });
    expect(await kafkaConsumerReadiness(source, 'c').check()).to.deep.equal({ state: 'up', detail: 'group c not consumed here' });
    expect(await gauge(registry)).to.deep.equal({ a: 1, b: 0 });

    // Restarted: back to healthy; a member stopped (consume()'s stop) leaves no series behind.
    states = [running('a'), running('a')];
    expect((await kafkaConsumerReadiness(source, 'a').check()).state).to.equal('up');
    expect(await gauge(registry)).to.deep.equal({ a: 0 });
  });
});
