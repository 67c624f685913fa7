import { expect } from 'chai';
import { Wallet } from 'ethers';
import { createAnchorer } from '../../src/proofs/anchorer';
import { BatchLog } from '../../src/proofs/batch-log';
import { deployAnother, openChainFixture, sealBatches, type ChainFixture } from './pipeline-fixture';

/**
 * CHAIN_CONFIRMATIONS above 1 on a node that mines only for transactions (a dev node: Hardhat,
 * anvil): the anchor is mined, and no block follows it. The anchorer waited without a word, and
 * no proof was ever served; now each round of the wait says how far the confirmations got.
 */
describe('anchorer waiting for confirmations that do not come', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  before(async () => {
    f = await openChainFixture();
  });
  after(() => f?.close());

  it('reports a mined anchor still short of its confirmations, and anchors once the blocks come', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const said: string[] = [];
    const codes: (string | undefined)[] = [];
    let heard!: () => void;
    const reported = new Promise<void>((r) => (heard = r));
    const anchorer = createAnchorer(f.store, {
      rpcUrl: f.chain.rpcUrl,
      contract,
      privateKey: f.chain.anchorerPrivateKey,
      confirmations: 3,
      txTimeoutMs: 500,
      onError: (e) => {
        said.push((e as Error).message);
        codes.push((e as { code?: string }).code);
        heard();
      },
    });
    const anchoring = anchorer.tick();
    await reported;
    expect(said[0]).to.match(
      /^anchor\(0\) transaction 0x[0-9a-f]{64} is mined in block \d+ but has 1 of the 3 confirmations CHAIN_CONFIRMATIONS asks after 500 ms: no block came after it \(a node that mines only for transactions\?\); still waiting$/,
    );
    // A wait to watch (alert OpenMcpAnchoringDelayed), not an unexpected error (INTERNAL, alert OpenMcpErrors).
    expect(codes[0]).to.equal('ANCHOR_DELAYED');
    await f.provider.send('hardhat_mine', ['0x2']);
    expect(await anchoring).to.equal(1);
  });

  it('after a restart, reports an anchor of the earlier run still short of its confirmations (was: waited without a word, for ever on such a node)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const opts = { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, confirmations: 3 };
    const crashed = createAnchorer(f.store, { ...opts, faults: (p) => { if (p === 'after-send') throw new Error('killed after send'); } });
    await crashed.tick().catch(() => {});
    await crashed.stop();
    const said: string[] = [];
    const codes: (string | undefined)[] = [];
    let heard!: () => void;
    const reported = new Promise<void>((r) => (heard = r));
    const restarted = createAnchorer(f.store, { ...opts, pollIntervalMs: 20, txTimeoutMs: 300, onError: (e) => (said.push((e as Error).message), codes.push((e as { code?: string }).code), heard()) });
    restarted.start();
    try {
      // Awaited, not polled for a fixed 5 s: a loaded machine may take longer to get there (mocha's timeout bounds it).
      await reported;
      expect(said[0]).to.match(
        /^anchor\(0\) is on chain \(sent by an earlier run\) but not yet 3 blocks deep \(CHAIN_CONFIRMATIONS\), head block \d+: no block came for 300 ms \(a node that mines only for transactions\?\); recorded once it is$/,
      );
      expect(codes[0]).to.equal('ANCHOR_DELAYED');
      await f.provider.send('hardhat_mine', ['0x2']);
      const anchored = new BatchLog(f.store);
      while ((await anchored.anchorRecords(await restarted.anchorStream())).length === 0) await new Promise((r) => setTimeout(r, 25));
      expect((await anchored.anchorRecords(await restarted.anchorStream())).map((r) => r.batchId)[0]).to.equal(0);
    } finally {
      await restarted.stop();
    }
  });

  // ethers' wait(0) answers at once, with null for a transaction not mined yet: on any chain that
  // does not mine at the send (every real one), CHAIN_CONFIRMATIONS=0 took each anchor for failed.
  it('CHAIN_CONFIRMATIONS=0 waits for the anchor to be mined, as 1 does (the record needs its block), on a chain that does not mine at the send', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 1, maxEvents: 1000 });
    const errors: string[] = [];
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, confirmations: 0, onError: (e) => void errors.push((e as Error).message) });
    const account = new Wallet(f.chain.anchorerPrivateKey).address;
    await f.provider.send('evm_setAutomine', [false]);
    try {
      const anchoring = anchorer.tick().then((n) => ({ n }), (err: Error) => ({ err: err.message }));
      let done: { n?: number; err?: string } | undefined;
      void anchoring.then((r) => (done = r));
      // Each anchor is mined only once it has been seen pending for a while, then the next.
      while (!done) {
        const [latest, pending] = await Promise.all([f.provider.getTransactionCount(account, 'latest'), f.provider.getTransactionCount(account, 'pending')]);
        if (pending > latest) {
          await new Promise((r) => setTimeout(r, 300));
          await f.provider.send('hardhat_mine', ['0x1']);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(done.err, 'tick failed').to.equal(undefined);
      expect(done.n).to.be.greaterThan(0);
      expect(errors).to.deep.equal([]);
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
    }
  });
});
