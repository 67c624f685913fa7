import { expect } from 'chai';
import { logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import type { EventStore, Subscription } from '../../src/eventstore/port';
import { Relay } from '../../src/relay';
import { brokerAndLogPerSuite } from './event-log-fixture';

/** A store whose live feed ends at once, as a store closed under a running relay does. */
function withEndingFeed(store: EventStore, opened: { count: number }): EventStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'subscribeAll') return Reflect.get(target, key, receiver);
      return (): Subscription => {
        opened.count++;
        // Ends after a turn of the event loop, so a relay that reopens it at once still lets timers run.
        return {
          async *[Symbol.asyncIterator]() {
            await new Promise((r) => setImmediate(r));
          },
          close: async () => undefined,
        } as unknown as Subscription;
      };
    },
  });
}

describe('Relay: a feed the store ends by itself', function () {
  this.timeout(30_000);
  const env = brokerAndLogPerSuite();

  it('is held as a store failure (reported, retried with a pause), not read again in a loop that never waits', async () => {
    const opened = { count: 0 };
    const errors: string[] = [];
    const relay = new Relay(withEndingFeed(env.log.store, opened), env.log.checkpoints, {
      brokers: env.broker.brokers,
      topic: 'feed-end.events.v1',
      partitions: 1,
      registry: new Registry(),
      kafka: { logLevel: logLevel.NOTHING },
      onError: (e) => errors.push((e as Error).message),
    });
    await relay.start();
    try {
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      await relay.stop();
    }
    // The retry pause starts at 1 s: the feed was opened once or twice, not thousands of times.
    expect(opened.count).to.be.within(1, 3);
    expect(errors[0]).to.include('ended its feed');
  });
});
