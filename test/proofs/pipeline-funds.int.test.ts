import { expect } from 'chai';
import { CacheLeaseStore, type LeaseStore } from '../../src/leader';
import { MemoryCache } from '../../src/cache/memory';
import { startAuditPipeline } from '../../src/proofs/pipeline';
import { deployAnother, openChainFixture, sealBatches, type ChainFixture } from './pipeline-fixture';

/**
 * openmcp_anchorer_balance_wei reads AuditPipeline.funds(): the balance the leader's anchorer read
 * after its last anchor. A process whose term ended is a standby: it must serve no balance (NaN),
 * or two processes would each alert on their own, the old one on a balance frozen at its last anchor.
 */
describe('audit pipeline: the anchorer funds it serves across leadership', function () {
  this.timeout(60_000);
  let f: ChainFixture;
  before(async () => {
    f = await openChainFixture();
  });
  after(() => f?.close());

  it('serves the balance once its elected anchorer anchored, and none once its term ended', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const memory = new CacheLeaseStore(new MemoryCache());
    let lost = false;
    // Another process takes the lease: this one's renewals are refused from then on.
    const leases: LeaseStore = { name: memory.name, acquire: async (l, h, t) => (lost ? undefined : memory.acquire(l, h, t)), release: (l, h) => memory.release(l, h), currentToken: (l) => memory.currentToken(l) };
    const config = { dataDir: f.dir, CHAIN_RPC_URL: f.chain.rpcUrl, ANCHOR_CONTRACT: contract, ANCHORER_PRIVATE_KEY: f.chain.anchorerPrivateKey, CHAIN_PORT: 0, CHAIN_CONFIRMATIONS: 1, BATCH_MAX_EVENTS: 2, BATCH_MAX_SECONDS: 1 };
    const lines: string[] = [];
    const pipeline = await startAuditPipeline({ store: f.store, config, findEvent: async () => undefined, roles: { sealer: false, anchorer: true }, leases, leaseTtlMs: 600, log: (l) => lines.push(l) });
    try {
      while (pipeline.funds() === undefined) await new Promise((r) => setTimeout(r, 20));
      expect(pipeline.funds()!.balanceWei > 0n).to.equal(true);
      expect(pipeline.funds()!.lastAnchorCostWei! > 0n).to.equal(true);
      lost = true;
      while (!lines.some((l) => /^anchorer: term \d+ ended/.test(l))) await new Promise((r) => setTimeout(r, 20));
      expect(pipeline.funds()).to.equal(undefined);
    } finally {
      await pipeline.stop();
    }
  });
});
