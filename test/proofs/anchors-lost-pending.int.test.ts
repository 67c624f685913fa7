import { expect } from 'chai';
import { Transaction } from 'ethers';
import { createAnchorer } from '../../src/proofs/anchorer';
import { BATCH_STREAM } from '../../events/audit-streams';
import { BatchLog } from '../../src/proofs/batch-log';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { deployAnother, mineUntil, openChainFixture, sealBatches, type ChainFixture } from './pipeline-fixture';

/**
 * A reorg deeper than the confirmations puts the lost anchors' transactions back in the mempool
 * (evm_revert and a broadcast of the same signed transaction stand in for it). The round that
 * finds the chain behind the log (ANCHORS_LOST) must let such a pending anchor be mined before it
 * reads where the chain is: sent from the stale nextBatchId, its next anchor reverted in
 * estimateGas with AuditAnchorBatchOutOfOrder. This file reverts chain snapshots: its own chain.
 */
describe('anchorer after ANCHORS_LOST with a lost anchor back in the mempool', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  before(async () => {
    f = await openChainFixture();
  });
  after(() => f?.close());

  /**
   * Two batches sealed and anchored on a new contract, then a reorg (evm_revert) that loses both
   * anchors, automining off: the round's anchorer, with the first anchor's signed transaction to
   * put back in the mempool.
   */
  async function lostAnchors(pollIntervalMs: number) {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { batches: 2, tasks: 3 });
    const sealed = (await f.store.readStream(BATCH_STREAM)).length;
    const errors: unknown[] = [];
    const hashes: string[] = [];
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, pollIntervalMs, onError: (e) => errors.push(e), onAnchored: (r) => hashes.push(r.txHash) });
    const snapshot = await f.provider.send('evm_snapshot', []);
    expect(await anchorer.tick()).to.equal(sealed);
    // The first anchor, signed as it was mined, goes back in the mempool after the reorg.
    const first = Transaction.from((await f.provider.getTransaction(hashes[0]))!).serialized;
    expect(await f.provider.send('evm_revert', [snapshot])).to.equal(true);
    await f.provider.send('evm_setAutomine', [false]);
    return { contract, sealed, errors, anchorer, first, hashes };
  }

  it('waits for the pending anchor, reads nextBatchId again and sends the next batch (was: anchor(0) again, reverted AuditAnchorBatchOutOfOrder)', async () => {
    const { contract, sealed, errors, anchorer, first, hashes } = await lostAnchors(50);
    try {
      // Blocks on the other branch: the lost anchor is mined again in a later block than before.
      await f.provider.send('hardhat_mine', ['0x3']);
      await f.provider.send('eth_sendRawTransaction', [first]);
      expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal(0);
      expect(await mineUntil(f.provider, anchorer.tick())).to.equal(sealed - 1);
      // Each batch's current anchor is a transaction the chain has, in the block named: the lost
      // anchor mined again from the mempool (same hash, another block) as much as the one sent again.
      const current = await new BatchLog(f.store).currentAnchors(await anchorer.anchorStream());
      expect(current.map((a) => a.txHash)[0]).to.equal(hashes[0]);
      for (const a of current) expect((await f.provider.getTransactionReceipt(a.txHash))?.blockNumber, `batch ${a.batchId}`).to.equal(a.blockNumber);
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
      await anchorer.stop();
    }
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal(sealed);
    expect(errors.map((e) => (e as { code?: string }).code)).to.deep.equal(['ANCHORS_LOST']);
  });

  it('a running anchorer records its anchors mined again in other blocks after a reorg it did not see (BatchReanchored naming the same transactions), and proofs name those blocks (was: the old blocks until the next start)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { batches: 2, tasks: 3 });
    const sealed = (await f.store.readStream(BATCH_STREAM)).length;
    const errors: unknown[] = [];
    const lines: string[] = [];
    const hashes: string[] = [];
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, onError: (e) => errors.push(e), log: (l) => lines.push(l), onAnchored: (r) => hashes.push(r.txHash) });
    try {
      const snapshot = await f.provider.send('evm_snapshot', []);
      expect(await anchorer.tick()).to.equal(sealed);
      // A later round of the running anchorer: its newest record checked against the chain, as after every anchor.
      expect(await anchorer.tick()).to.equal(0);
      const signed = await Promise.all(hashes.map(async (h) => Transaction.from((await f.provider.getTransaction(h))!).serialized));
      const log = new BatchLog(f.store);
      const before = await log.currentAnchors(await anchorer.anchorStream());
      // A reorg deeper than the confirmations, and the lost anchors mined again, later, on the other
      // branch, before the anchorer looks: the chain holds every batch, the same transactions, other blocks.
      await f.provider.send('evm_revert', [snapshot]);
      await f.provider.send('hardhat_mine', ['0x3']);
      for (const raw of signed) await f.provider.send('eth_sendRawTransaction', [raw]);
      expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal(sealed);

      expect(await anchorer.tick()).to.equal(0);
      const current = await log.currentAnchors(await anchorer.anchorStream());
      expect(current.map((a) => a.txHash)).to.deep.equal(hashes);
      for (const a of current) expect((await f.provider.getTransactionReceipt(a.txHash))?.blockNumber, `batch ${a.batchId}`).to.equal(a.blockNumber);
      const reanchored = (await f.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchReanchored' && (e.data as { contract: string }).contract === contract).map((e) => e.data);
      expect(reanchored.map((d) => [d.batchId, d.txHash, d.replacesTxHash, d.replacesBlockNumber])).to.have.deep.members(before.map((a) => [a.batchId, a.txHash, a.txHash, a.blockNumber]));
      expect(lines.filter((l) => l.includes('BatchReanchored'))).to.have.length(sealed);
      // A later round writes nothing more.
      expect(await anchorer.tick()).to.equal(0);
      expect((await f.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchReanchored' && (e.data as { contract: string }).contract === contract)).to.have.length(sealed);
    } finally {
      await anchorer.stop();
    }
    expect(errors).to.deep.equal([]);
  });

  it('still reports ANCHORS_LOST when the lost anchor back in the mempool is not mined while the round waits (was: only ANCHOR_DELAYED, the lost anchors unsaid)', async () => {
    const { errors, anchorer, first } = await lostAnchors(2);
    try {
      await f.provider.send('eth_sendRawTransaction', [first]);
      // Nothing is mined: the round gives up waiting for the pending anchor.
      const err = await anchorer.tick().then(
        () => undefined,
        (e: { code?: string }) => e,
      );
      expect(err?.code).to.equal('ANCHOR_DELAYED');
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
      await f.provider.send('evm_mine', []);
      await anchorer.stop();
    }
    expect(errors.map((e) => (e as { code?: string }).code)).to.deep.equal(['ANCHORS_LOST']);
  });
});
