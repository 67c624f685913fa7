import { expect } from 'chai';
import { Wallet } from 'ethers';
import { createAnchorer } from '../../src/proofs/anchorer';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { deployAnother, openChainFixture, sealBatches, type ChainFixture } from './pipeline-fixture';

/**
 * An anchorer whose key lacks AuditAnchor's anchorer role reports CONFIG_INVALID each round
 * (docs/errors.md) and keeps trying: granting the role is the whole fix, no restart needed.
 */
describe('anchorer whose key is granted the anchorer role while it runs', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  before(async () => {
    f = await openChainFixture();
  });
  after(() => f?.close());

  it('reports CONFIG_INVALID until the role is granted, then anchors without a restart', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    // Hardhat's account #1: funded, not granted ANCHORER_ROLE on this contract yet.
    const key = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
    const codes: string[] = [];
    let refused!: () => void;
    const firstRefusal = new Promise<void>((r) => (refused = r));
    let anchored!: () => void;
    const firstAnchor = new Promise<void>((r) => (anchored = r));
    const anchorer = createAnchorer(f.store, {
      rpcUrl: f.chain.rpcUrl,
      contract,
      privateKey: key,
      pollIntervalMs: 20,
      minBackoffMs: 20,
      maxBackoffMs: 50,
      onError: (e) => {
        codes.push(String((e as { code?: string }).code));
        refused();
      },
      onAnchored: () => anchored(),
    });
    anchorer.start();
    try {
      await firstRefusal;
      const before = codes.length;
      const admin = auditAnchorAt(contract, new Wallet(f.chain.anchorerPrivateKey, f.provider));
      await (await admin.grantRole(await admin.ANCHORER_ROLE(), new Wallet(key).address)).wait();
      await firstAnchor;
      expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.be.greaterThan(0);
      expect(new Set(codes.slice(0, before)), 'each error before the grant').to.deep.equal(new Set(['CONFIG_INVALID']));
    } finally {
      await anchorer.stop();
    }
  });
});
