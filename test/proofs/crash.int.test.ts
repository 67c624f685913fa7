import { expect } from 'chai';
import { Wallet } from 'ethers';
import type { EventStore } from '../../src/eventstore/port';
import { createAnchorer } from '../../src/proofs/anchorer';
import { BATCH_STREAM } from '../../events/audit-streams';
import { createSealer } from '../../src/proofs/sealer';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { createRpcProvider } from '../../src/web3/provider';
import { deployAnother, openFixture, sealBatches, SEALER_KEY, submitTasks, type Fixture } from './pipeline-fixture';

class Crash extends Error {}

/** The store, except that an append may "crash" before it runs or after it committed. */
function crashingStore(store: EventStore, rnd: () => number): EventStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'append') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<EventStore['append']>) => {
        const r = rnd();
        if (r < 0.15) throw new Crash('killed before append');
        const result = await target.append(...args);
        if (r > 0.85) throw new Crash('killed after append committed');
        return result;
      };
    },
  });
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

describe('sealer and anchorer killed at random points', function () {
  this.timeout(180_000);
  let f: Fixture;
  before(async () => {
    f = await openFixture();
  });
  after(async () => f?.close());

  async function checkInvariants(contract: string): Promise<void> {
    const sealed = (await f.store.readStream(BATCH_STREAM)).map((e) => e.data as Record<string, number | string>);
    expect(sealed.length).to.be.greaterThan(3);
    let nextSeq = 0;
    sealed.forEach((b, i) => {
      expect(b.batchId, 'batch ids are 0, 1, 2, … without gaps or repeats').to.equal(i);
      expect(b.firstSeq, `batch ${i} starts right after the previous one`).to.equal(nextSeq);
      expect(b.firstPosition, 'SQL store: seq = position').to.equal(b.firstSeq);
      nextSeq = (b.lastSeq as number) + 1;
    });
    const provider = createRpcProvider(f.chain.rpcUrl);
    try {
      const c = auditAnchorAt(contract, provider);
      expect(Number(await c.nextBatchId())).to.equal(sealed.length);
      for (const b of sealed) {
        const [root, firstSeq, lastSeq] = await c.batch(b.batchId);
        expect([root, Number(firstSeq), Number(lastSeq)]).to.deep.equal([b.root, b.firstSeq, b.lastSeq]);
      }
      const logs = await c.queryFilter(c.filters.BatchAnchored());
      expect(logs.length, 'one BatchAnchored log per batch on chain').to.equal(sealed.length);
    } finally {
      provider.destroy();
    }
  }

  it('leaves gap-free, duplicate-free batches in the log and on chain', async () => {
    const rnd = seeded(20261122);
    const contract = await deployAnother(f.chain);
    const crashes = { sealer: 0, anchorer: 0 };
    const anchorerOpts = { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, pollIntervalMs: 20 };

    for (let round = 0; round < 25; round++) {
      await submitTasks(f.store, Math.floor(rnd() * 7));
      // Two sealers race over the same log, each "restarted" (a fresh instance) every round.
      const sealers = [0, 1].map(() => createSealer(crashingStore(f.store, rnd), { sealerKey: SEALER_KEY, maxEvents: 1 + Math.floor(rnd() * 6), maxWaitMs: 0 }));
      await Promise.all(
        sealers.map(async (s) => {
          for (let i = 0; i < 3; i++) await s.tick().catch((e) => (e instanceof Crash ? crashes.sealer++ : Promise.reject(e)));
        }),
      );
      const anchorer = createAnchorer(crashingStore(f.store, rnd), {
        ...anchorerOpts,
        faults: async (point) => {
          if (rnd() < 0.1) throw new Crash(`killed at ${point}`);
        },
      });
      await anchorer.tick().catch((e) => (e instanceof Crash ? crashes.anchorer++ : Promise.reject(e)));
      await anchorer.stop();
    }
    // Restart both once more without faults and let them catch up.
    const sealer = createSealer(f.store, { sealerKey: SEALER_KEY, maxEvents: 1000, maxWaitMs: 0 });
    await sealer.flush();
    const anchorer = createAnchorer(f.store, anchorerOpts);
    await anchorer.tick();
    await anchorer.stop();
    expect(crashes.sealer).to.be.greaterThan(3);
    expect(crashes.anchorer).to.be.greaterThan(3);
    await checkInvariants(contract);
    const anchors = await f.store.readStream(await createAnchorer(f.store, anchorerOpts).anchorStream());
    const sealedCount = (await f.store.readStream(BATCH_STREAM)).length;
    expect(anchors.map((e) => (e.data as { batchId: number }).batchId)).to.deep.equal([...Array(sealedCount).keys()]);
  });

  it('re-anchors every sealed batch, in order, onto a new deployment (e.g. a restarted embedded chain)', async () => {
    const contract = await deployAnother(f.chain);
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey });
    const sealedCount = (await f.store.readStream(BATCH_STREAM)).length;
    expect(await anchorer.tick()).to.equal(sealedCount);
    await anchorer.stop();
    await checkInvariants(contract);
  });

  it('a funded key without the anchorer role is told so by the error\'s name, as CONFIG_INVALID naming ANCHORER_PRIVATE_KEY and what to do (was: "unknown custom error" and raw data; then a bare Error, counted INTERNAL)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 1, maxEvents: 1000 });
    // Hardhat's account #1: funded, never granted ANCHORER_ROLE on this contract.
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' });
    let err: (Error & { code?: string; details?: Record<string, unknown> }) | undefined;
    await anchorer.tick().catch((e) => (err = e));
    await anchorer.stop();
    expect(err?.message).to.match(/^anchor\(0\) reverted with AccessControlUnauthorizedAccount\(0x70997970C51812dc3A010C7d01b50e0d17dc79C8, 0x[0-9a-f]{64}\): /);
    expect(err?.code).to.equal('CONFIG_INVALID');
    expect(err?.details?.variable).to.equal('ANCHORER_PRIVATE_KEY');
    expect(err?.message)
      .to.include(`0x70997970C51812dc3A010C7d01b50e0d17dc79C8 does not hold the anchorer role of AuditAnchor at ${contract}`)
      .and.include('grantRole(ANCHORER_ROLE, 0x70997970C51812dc3A010C7d01b50e0d17dc79C8)')
      .and.include('ANCHORER_PRIVATE_KEY');
  });

  it('an anchorer without the role keeps failing and anchors nothing', async () => {
    const contract = await deployAnother(f.chain);
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: Wallet.createRandom().privateKey as `0x${string}` });
    let err: unknown;
    await anchorer.tick().catch((e) => (err = e));
    await anchorer.stop();
    expect(String(err)).to.match(/AccessControlUnauthorizedAccount|execution reverted|insufficient funds/);
  });
});
