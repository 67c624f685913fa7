import { expect } from 'chai';
import { createServer, type Server, type Socket } from 'node:net';
import { KafkaBus } from '../../src/bus/kafka';
import { READINESS_CHECK_TIMEOUT_MS } from '../../src/telemetry/readiness-check';
import { freePort } from '../support/free-port';
import { startKafkaBroker } from '../support/kafka-broker';

/** A broker that takes connections and never answers (a hung process, a proxy with nothing behind it). */
async function silentBroker(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const settled = (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error) => `rejected: ${e.message}`);

describe('KafkaBus.ping: the readiness check of Kafka (a metadata request on a client of its own)', function () {
  this.timeout(60_000);

  it('resolves while a broker answers, rejects while none does', async () => {
    const broker = await startKafkaBroker();
    const up = new KafkaBus({ brokers: broker.brokers, onInvalidMessage: () => undefined });
    const down = new KafkaBus({ brokers: [`127.0.0.1:${await freePort()}`], onInvalidMessage: () => undefined });
    try {
      await up.ping();
      await up.ping();
      expect(await settled(down.ping())).to.match(/^rejected: .*ECONNREFUSED/);
    } finally {
      await up.close();
      await down.close();
      await broker.stop();
    }
  });

  // kafkajs waits 30 s (requestTimeout) for an answer, and its disconnect() waits for a connect
  // under way: each /readyz then left a request pending that long, and a stop (SIGTERM) of any
  // process with KAFKA_BROKERS, an API replica too, waited for the probe of the last /readyz
  // before closing its stores, past compose's 10 s and near Kubernetes' 30 s grace period.
  it("gives up on a broker that never answers within the readiness timeout, so a stop is not held for kafkajs's 30 s request timeout", async () => {
    const silent = await silentBroker();
    const bus = new KafkaBus({ brokers: [`127.0.0.1:${silent.port}`], onInvalidMessage: () => undefined });
    try {
      const ping = settled(bus.ping());
      await new Promise((r) => setTimeout(r, 200));
      // Bounded well above the readiness timeout (2 s) and well below kafkajs's 30 s.
      const bound = 5 * READINESS_CHECK_TIMEOUT_MS;
      const closing = await Promise.race([bus.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r(`still closing after ${bound} ms`), bound))]);
      expect(closing).to.equal('closed');
      expect(await ping).to.match(/^rejected: .*timed out/);
    } finally {
      await bus.close();
      await silent.close();
    }
  });
});
