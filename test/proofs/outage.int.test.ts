import { expect } from 'chai';
import net from 'node:net';
import { createAnchorer } from '../../src/proofs/anchorer';
import { BATCH_STREAM } from '../../events/audit-streams';
import { createSealer } from '../../src/proofs/sealer';
import { deployAnother, openFixture, SEALER_KEY, submitTasks, type Fixture } from './pipeline-fixture';

/** A TCP relay to the chain node that can drop every connection and refuse new ones (an outage). */
async function relay(target: URL): Promise<{ url: string; down(): void; up(): void; close(): Promise<void> }> {
  let isUp = true;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!isUp) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => [client, upstream].forEach((s) => (s.destroy(), sockets.delete(s)));
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    down() {
      isUp = false;
      for (const s of sockets) s.destroy();
    },
    up() {
      isUp = true;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('anchorer during an RPC outage', function () {
  this.timeout(120_000);
  let f: Fixture;
  before(async () => {
    f = await openFixture();
  });
  after(async () => f?.close());

  it('keeps sealed batches queued while the chain is unreachable and anchors them all, in order, when it returns', async () => {
    const r = await relay(new URL(f.chain.rpcUrl));
    const contract = await deployAnother(f.chain);
    const errors: unknown[] = [];
    const anchored: number[] = [];
    const anchorer = createAnchorer(f.store, {
      rpcUrl: r.url,
      contract,
      privateKey: f.chain.anchorerPrivateKey,
      pollIntervalMs: 20,
      minBackoffMs: 20,
      maxBackoffMs: 200,
      onError: (e) => errors.push(e),
      onAnchored: (a) => anchored.push(a.batchId),
    });
    const sealer = createSealer(f.store, { sealerKey: SEALER_KEY, maxEvents: 3, maxWaitMs: 60_000 });
    await submitTasks(f.store, 3);
    await sealer.tick();
    anchorer.start();
    while (anchored.length < 1) await new Promise((res) => setTimeout(res, 20));

    r.down();
    await submitTasks(f.store, 9);
    for (let i = 0; i < 3; i++) await sealer.tick();
    await new Promise((res) => setTimeout(res, 500));
    // Its first failed try may come later than the pause on a loaded machine: waited for.
    for (const end = Date.now() + 10_000; errors.length === 0 && Date.now() < end; ) await new Promise((res) => setTimeout(res, 20));
    expect(anchored).to.deep.equal([0]);
    expect(errors.length, 'the anchorer kept retrying').to.be.greaterThan(0);

    r.up();
    const sealedCount = (await f.store.readStream(BATCH_STREAM)).length;
    expect(sealedCount).to.equal(4);
    const deadline = Date.now() + 30_000;
    while (anchored.length < sealedCount && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    await anchorer.stop();
    await r.close();
    expect(anchored).to.deep.equal([0, 1, 2, 3]);
  });
});
