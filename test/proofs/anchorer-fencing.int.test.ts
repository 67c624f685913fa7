import { expect } from 'chai';
import { MemoryCache } from '../../src/cache/memory';
import { assertToken, CacheLeaseStore, fencedEventStore } from '../../src/leader';
import { createAnchorer } from '../../src/proofs/anchorer';
import { BatchLog } from '../../src/proofs/batch-log';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { createRpcProvider } from '../../src/web3/provider';
import { deployAnother, openFixture, sealBatches, type Fixture } from './pipeline-fixture';

/**
 * A deposed anchorer must stop sending transactions, not only stop writing to the log: the fenced
 * event store guards the log, but the chain has no token to check, so every transaction sent
 * after a takeover raced the new leader's for the same batch (one of them reverting, gas spent).
 */
describe('anchorer across a leader change', function () {
  this.timeout(120_000);
  let f: Fixture;
  before(async () => {
    f = await openFixture();
    await sealBatches(f.store, { batches: 4, tasks: 2 });
  });
  after(async () => f?.close());

  const onChain = async (contract: string) => {
    const provider = createRpcProvider(f.chain.rpcUrl);
    try {
      return Number(await auditAnchorAt(contract, provider).nextBatchId());
    } finally {
      provider.destroy();
    }
  };

  it('sends nothing once another holder took the lease, even in the middle of a backlog', async () => {
    const contract = await deployAnother(f.chain);
    const leases = new CacheLeaseStore(new MemoryCache());
    const token = (await leases.acquire('anchorer', 'a', 60_000))!;
    let takeover: Promise<unknown> | undefined;
    const deposed = createAnchorer(fencedEventStore(f.store, leases, 'anchorer', token), {
      rpcUrl: f.chain.rpcUrl,
      contract,
      privateKey: f.chain.anchorerPrivateKey,
      beforeSend: async () => {
        await takeover;
        await assertToken(leases, 'anchorer', token);
      },
      // Right after the first batch is recorded, a standby takes over (the lease ran out meanwhile).
      onAnchored: () => (takeover ??= leases.release('anchorer', 'a').then(() => leases.acquire('anchorer', 'b', 60_000))),
    }, new BatchLog(f.store));
    let err: { code?: string } | undefined;
    await deposed.tick().catch((e) => (err = e));
    await deposed.stop();
    expect(err?.code).to.equal('LEASE_FENCED');
    expect(await onChain(contract), 'only the batch sent before the takeover').to.equal(1);
  });

  it('a stopped anchorer sends no more of its backlog', async () => {
    const contract = await deployAnother(f.chain);
    let anchorer: ReturnType<typeof createAnchorer> | undefined;
    let stopping: Promise<void> | undefined;
    anchorer = createAnchorer(f.store, {
      rpcUrl: f.chain.rpcUrl,
      contract,
      privateKey: f.chain.anchorerPrivateKey,
      faults: async (point) => {
        if (point === 'after-confirm') stopping ??= anchorer!.stop();
      },
    });
    expect(await anchorer.tick()).to.equal(1);
    await stopping;
    expect(await onChain(contract)).to.equal(1);
  });
});
