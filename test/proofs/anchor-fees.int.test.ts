import { expect } from 'chai';
import { Wallet } from 'ethers';
import { MemoryCache } from '../../src/cache/memory';
import { assertToken, CacheLeaseStore, fencedEventStore } from '../../src/leader';
import { createAnchorer, type Anchorer, type AnchorerOptions } from '../../src/proofs/anchorer';
import { BATCH_STREAM } from '../../events/audit-streams';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { startCountingProxy } from '../support/counting-rpc-proxy';
import { deployAnother, openChainFixture, sealBatches, type ChainFixture } from './pipeline-fixture';

/**
 * Mine a block every 100 ms at base fee `baseFee` (above what a stuck anchor offers) until
 * `stopped()`: a fee spike that lasts. Resolves once stopped.
 */
async function mineAtBaseFee(provider: ChainFixture['provider'], baseFee: bigint, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    await provider.send('hardhat_setNextBlockBaseFeePerGas', [`0x${baseFee.toString(16)}`]);
    await provider.send('evm_mine', []);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A spike over: a block at 1 gwei, automining on again, so the tests after this one meet no raised fee. */
async function endSpike(provider: ChainFixture['provider']): Promise<void> {
  await provider.send('hardhat_setNextBlockBaseFeePerGas', ['0x3b9aca00']);
  await provider.send('evm_mine', []);
  await provider.send('evm_setAutomine', [true]);
}

/** The BatchAnchorSent events recorded for anchors to `contract`, in log order. */
async function anchorSends(store: ChainFixture['store'], contract: string) {
  return (await store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchAnchorSent' && (e.data as { contract: string }).contract === contract);
}

/** One round of `anchorer` anchors every batch sealed so far (those it takes on among them); it is stopped after, anchored or not. */
async function anchorsAllSealed(store: ChainFixture['store'], anchorer: Anchorer): Promise<void> {
  try {
    expect(await anchorer.tick()).to.equal((await store.readStream(BATCH_STREAM)).length);
  } finally {
    await anchorer.stop();
  }
}

/**
 * What an anchor transaction costs and who pays: a base fee that rises above what the
 * transaction offers (it would sit in the mempool for as long as the spike lasts) and an
 * anchorer account with nothing to pay with. This file turns automining off, so it has its own chain.
 */
describe('anchorer and fees', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  before(async () => {
    f = await openChainFixture();
  });
  after(() => f?.close());

  it('sends a stuck anchor again on its nonce with raised fees when the base fee spikes above it (was: TIMEOUT, then waited for it for ever)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const spike = 500n * 10n ** 9n;
    let sent: { maxFeePerGas: bigint | null; hash: string } | undefined;
    let mining: Promise<void> | undefined;
    let done = false;
    const reported: string[] = [];
    const opts: AnchorerOptions = {
      rpcUrl: f.chain.rpcUrl,
      contract,
      privateKey: f.chain.anchorerPrivateKey,
      txTimeoutMs: 1000,
      onError: (e) => reported.push(`${(e as { code?: string }).code}: ${(e as Error).message.replace(/0x[0-9a-f]{64}/, '0x…').replace(/nonce \d+/, 'nonce N').replace(/\(max fee .*\)$/, '(…)')}`),
      faults: async (point) => {
        if (point !== 'after-send' || mining) return;
        const [pending] = (await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[];
        const tx = (await f.provider.getTransaction(pending.hash))!;
        sent = { hash: tx.hash, maxFeePerGas: tx.maxFeePerGas };
        expect(sent.maxFeePerGas! < spike).to.equal(true);
        // From now on every block's base fee is above what the first transaction offers.
        mining = mineAtBaseFee(f.provider, spike, () => done);
      },
    };
    await f.provider.send('evm_setAutomine', [false]);
    const anchorer = createAnchorer(f.store, opts);
    try {
      expect(await anchorer.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
    } finally {
      done = true;
      await mining;
      await f.provider.send('evm_setAutomine', [true]);
      await anchorer.stop();
    }
    const sealed = (await f.store.readStream(BATCH_STREAM)).length;
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal(sealed);
    // The replacement was mined (same call, same nonce), not the first transaction.
    const stream = (await f.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchAnchored' && (e.data as { contract: string }).contract === contract);
    const txHash = (stream.at(-1)!.data as { txHash: string }).txHash;
    expect(txHash).to.not.equal(sent!.hash);
    expect((await f.provider.getTransaction(txHash))!.maxFeePerGas! >= spike).to.equal(true);
    expect(await f.provider.getTransaction(sent!.hash)).to.equal(null);
    // A wait to watch (alert OpenMcpAnchoringDelayed), not an unexpected error (INTERNAL, the critical OpenMcpErrors).
    expect(reported[0]).to.equal('ANCHOR_DELAYED: anchor(0) transaction not mined within 1000 ms: sent again on nonce N as 0x… with higher fees (…)');
    expect(new Set(reported.map((r) => r.split(':')[0]))).to.deep.equal(new Set(['ANCHOR_DELAYED']));
  });

  it('keeps its stuck anchor across a round that failed on the RPC: the next round sends it again with raised fees (was: forgotten; the next round sent anew on its nonce, refused as underpriced while the spike lasted, or, where the node counts it pending, waited for it as an earlier run\'s, never raised)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const spike = 500n * 10n ** 9n;
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    let sent: string | undefined;
    let mining: Promise<void> | undefined;
    let done = false;
    const anchorer = createAnchorer(f.store, {
      rpcUrl: proxy.url,
      contract,
      privateKey: f.chain.anchorerPrivateKey,
      txTimeoutMs: 1000,
      pollIntervalMs: 20,
      faults: async (point) => {
        if (point !== 'after-send' || mining) return;
        sent = ((await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[])[0].hash;
        // The RPC refuses a moment (a rate limit): the wait for the receipt fails, the round with it.
        proxy.refuse(['eth_getTransactionReceipt']);
        // From now on every block's base fee is above what the transaction offers.
        mining = mineAtBaseFee(f.provider, spike, () => done);
      },
    });
    await f.provider.send('evm_setAutomine', [false]);
    try {
      const failed = (await anchorer.tick().then(() => expect.fail('anchored'), (e: unknown) => e)) as { code?: string };
      expect(failed.code).to.equal('DEPENDENCY_UNAVAILABLE');
      proxy.refuse([]);
      // The stuck anchor, resumed, counts with those sent after it (this file's earlier tests sealed more).
      expect(await anchorer.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
    } finally {
      done = true;
      await mining;
      await f.provider.send('evm_setAutomine', [true]);
      await anchorer.stop();
      await proxy.close();
    }
    const sealed = (await f.store.readStream(BATCH_STREAM)).length;
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal(sealed);
    const anchored = (await f.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchAnchored' && (e.data as { contract: string }).contract === contract);
    const txHash = (anchored.at(-1)!.data as { txHash: string }).txHash;
    expect(txHash, 'the replacement was mined').to.not.equal(sent);
    expect((await f.provider.getTransaction(txHash))!.maxFeePerGas! >= spike).to.equal(true);
  });

  it('after a restart (or in the next leader term), a stuck anchor of the run before, recorded as BatchAnchorSent when it stopped, is taken on: sent again on its nonce with raised fees and anchored (was: only waited for, or refused as underpriced, while the spike lasted)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    // Far above what the market asked at the send (earlier tests of this file leave the base fee high).
    const spike = 5000n * 10n ** 9n;
    let mining: Promise<void> | undefined;
    let done = false;
    let sent: string | undefined;
    let batchId = -1;
    const reported: string[] = [];
    const opts: AnchorerOptions = { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, pollIntervalMs: 20, txTimeoutMs: 1000 };
    await f.provider.send('evm_setAutomine', [false]);
    try {
      let stuck!: () => void;
      const isStuck = new Promise<void>((r) => (stuck = r));
      const first = createAnchorer(f.store, {
        ...opts,
        // Stopped long before its own raise: the next run's to do.
        txTimeoutMs: 60_000,
        faults: async (point) => {
          if (point !== 'after-send' || mining) return;
          sent = ((await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[])[0].hash;
          mining = mineAtBaseFee(f.provider, spike, () => done);
          stuck();
        },
      });
      const round = first.tick().catch((e: Error) => e);
      await isStuck;
      await first.stop();
      expect(((await round) as Error).message).to.match(/not mined yet; stopped: the next run finds it$/);
      const recorded = (await anchorSends(f.store, contract));
      expect(recorded.map((e) => (e.data as { txHash: string }).txHash)).to.deep.equal([sent]);
      expect(recorded[0].data).to.include.keys('nonce', 'account', 'maxFeePerGas', 'maxPriorityFeePerGas', 'batchId');
      batchId = (recorded[0].data as { batchId: number }).batchId;

      const next = createAnchorer(f.store, { ...opts, onError: (e) => reported.push(`${(e as { code?: string }).code}: ${(e as Error).message}`) });
      await anchorsAllSealed(f.store, next);
    } finally {
      done = true;
      await mining;
      // Leave no spike to the tests after this one.
      await endSpike(f.provider);
    }
    const sealed = (await f.store.readStream(BATCH_STREAM)).length;
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal(sealed);
    const anchored = (await f.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchAnchored' && (e.data as { contract: string }).contract === contract);
    const txHash = (anchored.find((e) => (e.data as { batchId: number }).batchId === batchId)!.data as { txHash: string }).txHash;
    expect(txHash, 'the replacement was mined').to.not.equal(sent);
    expect((await f.provider.getTransaction(txHash))!.maxFeePerGas! >= spike).to.equal(true);
    expect(reported[0]).to.match(/^ANCHOR_DELAYED: anchor\(\d+\) transaction not mined within 1000 ms: sent again on nonce \d+ as 0x[0-9a-f]{64} with higher fees/);
    // Each replacement is recorded too: a restart now takes on the latest send.
    const sends = (await anchorSends(f.store, contract));
    expect((sends.at(-1)!.data as { txHash: string; replacesTxHash?: string }).txHash).to.equal(txHash);
  });

  it('an earlier run\'s stuck anchor, taken on and then replaced on its nonce by another transaction of the key (an operator cancelling it), ends the round as replaced, and the next round anchors the batch anew (was: waited for for ever, unreported: read back from the node, the transaction gave ethers no block to look for a replacement from)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const spike = 5000n * 10n ** 9n;
    let mining: Promise<void> | undefined;
    let done = false;
    let cancelled: Promise<unknown> = Promise.resolve();
    const opts: AnchorerOptions = { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, pollIntervalMs: 20, txTimeoutMs: 60_000 };
    await f.provider.send('evm_setAutomine', [false]);
    try {
      let stuck!: () => void;
      const isStuck = new Promise<void>((r) => (stuck = r));
      const first = createAnchorer(f.store, {
        ...opts,
        faults: (point) => {
          if (point !== 'after-send' || mining) return;
          mining = mineAtBaseFee(f.provider, spike, () => done);
          stuck();
        },
      });
      const round = first.tick().catch((e: Error) => e);
      await isStuck;
      await first.stop();
      await round;
      const [sent] = (await anchorSends(f.store, contract)).map((e) => e.data as { nonce: number });
      const wallet = new Wallet(opts.privateKey!, f.provider);
      const next = createAnchorer(f.store, {
        ...opts,
        txTimeoutMs: 1000,
        log: (line) => {
          // Cancelled by the operator once this run has taken it on: a 0-value transfer to itself on its nonce.
          if (/^anchorer: taking on/.test(line)) cancelled = wallet.sendTransaction({ to: wallet.address, value: 0n, nonce: sent.nonce, maxFeePerGas: spike * 4n, maxPriorityFeePerGas: spike }).then((tx) => tx.wait());
        },
      });
      try {
        const outcome = await Promise.race([next.tick().then(() => 'anchored', (e: Error) => e.message), new Promise((r) => setTimeout(r, 20_000, 'still waiting for the cancelled transaction'))]);
        expect(outcome).to.match(/^anchor\(\d+\) on nonce \d+ was replaced by transaction 0x[0-9a-f]{64}, another call sent with the anchorer's key$/);
        await cancelled;
        done = true;
        await mining;
        await f.provider.send('hardhat_setNextBlockBaseFeePerGas', ['0x3b9aca00']);
        await f.provider.send('evm_setAutomine', [true]);
        expect(await next.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
      } finally {
        await next.stop();
      }
    } finally {
      done = true;
      await mining;
      await cancelled.catch(() => undefined);
      await endSpike(f.provider);
    }
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal((await f.store.readStream(BATCH_STREAM)).length);
  });

  it('a stuck anchor of a leader whose term ended is raised by the next leader only: the deposed one sends nothing more, the new one takes it on from BatchAnchorSent', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const spike = 5000n * 10n ** 9n;
    let mining: Promise<void> | undefined;
    let done = false;
    const leases = new CacheLeaseStore(new MemoryCache());
    const tokenA = (await leases.acquire('anchorer', 'a', 60_000))!;
    let sends = 0;
    const opts: AnchorerOptions = { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, pollIntervalMs: 20, txTimeoutMs: 800 };
    await f.provider.send('evm_setAutomine', [false]);
    try {
      const a = createAnchorer(fencedEventStore(f.store, leases, 'anchorer', tokenA), {
        ...opts,
        beforeSend: async () => {
          // The term ends between the first send and its raise (the lease ran out, b took it).
          if (sends++ > 0) await leases.release('anchorer', 'a').then(() => leases.acquire('anchorer', 'b', 60_000));
          await assertToken(leases, 'anchorer', tokenA);
        },
        faults: (point) => {
          if (point !== 'after-send' || mining) return;
          mining = mineAtBaseFee(f.provider, spike, () => done);
        },
      });
      const err = (await a.tick().then(() => expect.fail('anchored'), (e: unknown) => e)) as { code?: string };
      await a.stop();
      expect(err.code).to.equal('LEASE_FENCED');
      const sentBy = async () => (await anchorSends(f.store, contract)).map((e) => e.data as { txHash: string; replacesTxHash?: string });
      // Recorded while a still led (late), never raised by it.
      const [late, ...others] = await sentBy();
      expect([late.replacesTxHash, others]).to.deep.equal([undefined, []]);

      const tokenB = await leases.currentToken('anchorer');
      const b = createAnchorer(fencedEventStore(f.store, leases, 'anchorer', tokenB), { ...opts, beforeSend: () => assertToken(leases, 'anchorer', tokenB) });
      await anchorsAllSealed(f.store, b);
      const raised = (await sentBy()).slice(1);
      expect(raised[0]?.replacesTxHash, 'b raised the late send').to.equal(late.txHash);
    } finally {
      done = true;
      await mining;
      await endSpike(f.provider);
    }
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal((await f.store.readStream(BATCH_STREAM)).length);
  });

  it('after a restart, an earlier run\'s anchor killed before any record (within the tx timeout of its send) and stuck in a fee spike is found in the node\'s pool and taken on: sent again with raised fees and anchored (was: refused as underpriced on its nonce while the spike lasted)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    // Far above what the market asked at the send (earlier tests of this file leave the base fee high).
    const spike = 5000n * 10n ** 9n;
    let mining: Promise<void> | undefined;
    let done = false;
    let sent: string | undefined;
    const lines: string[] = [];
    const opts: AnchorerOptions = { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, pollIntervalMs: 20, txTimeoutMs: 1000 };
    await f.provider.send('evm_setAutomine', [false]);
    try {
      const crashed = createAnchorer(f.store, {
        ...opts,
        faults: async (point) => {
          if (point !== 'after-send') return;
          sent = ((await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[])[0].hash;
          mining = mineAtBaseFee(f.provider, spike, () => done);
          throw new Error('killed after send');
        },
      });
      await crashed.tick().catch(() => {});
      await crashed.stop();
      expect(await anchorSends(f.store, contract), 'killed before any record').to.deep.equal([]);
      // Hardhat leaves it out of the account's pending count (under the base fee): the pool is asked once the send on its nonce is refused as underpriced.
      const restarted = createAnchorer(f.store, { ...opts, log: (l) => lines.push(l) });
      await anchorsAllSealed(f.store, restarted);
    } finally {
      done = true;
      await mining;
      await endSpike(f.provider);
    }
    expect(lines.find((l) => l.startsWith('anchorer: taking on'))).to.match(new RegExp(`^anchorer: taking on anchor\\(0\\) transaction ${sent} on nonce \\d+, pending in the node's pool`));
    const anchored = (await f.store.readAll({ limit: 10_000 })).find((e) => e.type === 'BatchAnchored' && (e.data as { contract: string; batchId: number }).contract === contract && (e.data as { batchId: number }).batchId === 0)!;
    const txHash = (anchored.data as { txHash: string }).txHash;
    expect(txHash, 'the replacement was mined').to.not.equal(sent);
    expect((await f.provider.getTransaction(txHash))!.maxFeePerGas! >= spike).to.equal(true);
  });

  it('after a restart, an anchor refused as underpriced on its nonce (an earlier run\'s stuck transaction the node does not count as pending, on a node that does not list its pool) is ANCHOR_DELAYED saying so (was: REPLACEMENT_UNDERPRICED with the raw signed transaction)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    // Far above what the market asked at the send (earlier tests of this file leave the base fee high).
    const spike = 5000n * 10n ** 9n;
    let mining: Promise<void> | undefined;
    let done = false;
    const opts: AnchorerOptions = { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, pollIntervalMs: 20 };
    await f.provider.send('evm_setAutomine', [false]);
    try {
      const crashed = createAnchorer(f.store, {
        ...opts,
        faults: (point) => {
          if (point !== 'after-send') return;
          mining = mineAtBaseFee(f.provider, spike, () => done);
          throw new Error('killed after send');
        },
      });
      await crashed.tick().catch(() => {});
      await crashed.stop();
      // Most nodes do not list their pool to a caller (geth: only its own accounts'; hosted RPCs: not at all).
      const proxy = await startCountingProxy(f.chain.rpcUrl);
      proxy.refuse(['eth_pendingTransactions'], { code: -32601, message: 'the method eth_pendingTransactions does not exist/is not available' });
      const restarted = createAnchorer(f.store, { ...opts, rpcUrl: proxy.url });
      const err = (await restarted.tick().then(() => expect.fail('anchored'), (e: unknown) => e)) as { code?: string; message?: string };
      await restarted.stop();
      await proxy.close();
      expect(err.code).to.equal('ANCHOR_DELAYED');
      expect(err.message).to.match(
        /^anchor\(0\) on nonce \d+ was refused as underpriced: a transaction of the anchorer account 0x[0-9a-f]{40} holds that nonce although the node does not count it as pending \(an earlier run's, stuck below the base fee\?\) and offers about as much; anchoring waits for it to be mined or dropped$/,
      );
    } finally {
      done = true;
      await mining;
      // Leave no stuck transaction and no spike to the tests after this one.
      for (const tx of (await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[]) await f.provider.send('hardhat_dropTransaction', [tx.hash]);
      await endSpike(f.provider);
    }
  });

  it('with a fee cap (ANCHOR_MAX_FEE_GWEI) offers at most the cap, first send and replacements, and waits at it for the market to fall (was: no cap, paid any price)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const gwei = 10n ** 9n;
    const cap = 80n * gwei;
    const messages: string[] = [];
    const codes = new Set<string | undefined>();
    // Above the cap from the start: the first send already offers the cap, not the market's fee.
    let baseFee = 500n * gwei;
    let done = false;
    await f.provider.send('evm_setAutomine', [false]);
    // Every block at `baseFee` (a spike the anchorer cannot outbid at its cap).
    const mining = (async () => {
      while (!done) {
        await f.provider.send('hardhat_setNextBlockBaseFeePerGas', [`0x${baseFee.toString(16)}`]);
        await f.provider.send('evm_mine', []);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 250));
    const anchorer = createAnchorer(f.store, {
      rpcUrl: f.chain.rpcUrl,
      contract,
      privateKey: f.chain.anchorerPrivateKey,
      txTimeoutMs: 300,
      maxFeePerGas: cap,
      onError: (e) => (messages.push((e as Error).message), codes.add((e as { code?: string }).code)),
    });
    try {
      const ticking = anchorer.tick();
      for (let i = 0; i < 400 && messages.filter((m) => m.includes('at the fee cap')).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect(messages.filter((m) => m.includes('at the fee cap')), messages.join('\n')).to.have.length.of.at.least(2);
      // The spike ends: the capped transaction is mined.
      baseFee = 1n * gwei;
      expect(await ticking).to.equal((await f.store.readStream(BATCH_STREAM)).length);
    } finally {
      done = true;
      await mining;
      await f.provider.send('evm_setAutomine', [true]);
      await anchorer.stop();
    }
    expect(messages.filter((m) => m.includes('sent again')), 'nothing above the cap is sent').to.deep.equal([]);
    const anchored = (await f.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchAnchored' && (e.data as { contract: string }).contract === contract);
    // This contract is new: every sealed batch was anchored. The first waited out the spike at the
    // cap; those after it were sent at the market's fee once it fell below.
    const offered = await Promise.all(anchored.map(async (e) => (await f.provider.getTransaction((e.data as { txHash: string }).txHash))!.maxFeePerGas!));
    expect(offered[0]).to.equal(cap);
    for (const fee of offered) expect(fee <= cap).to.equal(true);
    expect(messages.find((m) => m.includes('at the fee cap'))).to.match(/offers the fee cap \(ANCHOR_MAX_FEE_GWEI, 80 gwei\) and the market asks more: waiting for it to fall/);
    // Waits to watch (alert OpenMcpAnchoringDelayed), not unexpected errors (INTERNAL, the critical OpenMcpErrors).
    expect([...codes]).to.deep.equal(['ANCHOR_DELAYED']);
  });

  it('with a fee cap, sends an anchor the node dropped again at the cap (was: "waiting for it to fall" for ever: a transaction at the cap cannot be raised, and nothing was left to mine)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const gwei = 10n ** 9n;
    const cap = 80n * gwei;
    const messages: string[] = [];
    let first: string | undefined;
    let baseFee = 500n * gwei;
    let done = false;
    await f.provider.send('evm_setAutomine', [false]);
    const mining = (async () => {
      while (!done) {
        await f.provider.send('hardhat_setNextBlockBaseFeePerGas', [`0x${baseFee.toString(16)}`]);
        await f.provider.send('evm_mine', []);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 250));
    const anchorer = createAnchorer(f.store, {
      rpcUrl: f.chain.rpcUrl,
      contract,
      privateKey: f.chain.anchorerPrivateKey,
      txTimeoutMs: 300,
      maxFeePerGas: cap,
      onError: (e) => messages.push((e as Error).message),
      faults: async (point) => {
        if (point === 'after-send') first ??= ((await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[])[0].hash;
      },
    });
    let finished = false;
    const ticking = anchorer.tick().finally(() => (finished = true));
    try {
      while (!messages.some((m) => m.includes('at the fee cap'))) await new Promise((r) => setTimeout(r, 50));
      // The spike's low bidders are evicted from the node's pool (geth drops the cheapest when it is full); then fees fall.
      expect(await f.provider.send('hardhat_dropTransaction', [first])).to.equal(true);
      baseFee = 1n * gwei;
      for (let i = 0; i < 200 && !finished; i++) await new Promise((r) => setTimeout(r, 50));
      expect(finished, `still waiting after the drop:\n${messages.slice(-3).join('\n')}`).to.equal(true);
      expect(await ticking).to.equal((await f.store.readStream(BATCH_STREAM)).length);
    } finally {
      await anchorer.stop();
      await ticking.catch(() => {});
      done = true;
      await mining;
      await f.provider.send('evm_setAutomine', [true]);
    }
    const anchored = (await f.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchAnchored' && (e.data as { contract: string }).contract === contract);
    const offered = await Promise.all(anchored.map(async (e) => (await f.provider.getTransaction((e.data as { txHash: string }).txHash))!.maxFeePerGas!));
    for (const fee of offered) expect(fee <= cap).to.equal(true);
  });

  it('does not raise the fees of a transaction that offers the market\'s while it waits (each raise compounds)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const waits: string[] = [];
    let first: string | undefined;
    await f.provider.send('evm_setAutomine', [false]);
    const anchorer = createAnchorer(f.store, {
      rpcUrl: f.chain.rpcUrl,
      contract,
      privateKey: f.chain.anchorerPrivateKey,
      txTimeoutMs: 300,
      onError: (e) => waits.push((e as Error).message),
      faults: async (point) => {
        if (point === 'after-send') first ??= ((await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[])[0].hash;
      },
    });
    try {
      const ticking = anchorer.tick();
      while (waits.filter((m) => m.includes('still waiting')).length < 3) await new Promise((r) => setTimeout(r, 50));
      expect(waits.filter((m) => m.includes('sent again'))).to.deep.equal([]);
      expect(((await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[]).map((t) => t.hash)).to.deep.equal([first]);
      // Mined as it is; the batches after it (this contract is new: every sealed batch) likewise.
      let done = false;
      const mined = ticking.finally(() => (done = true));
      while (!done) {
        await f.provider.send('evm_mine', []);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await mined).to.equal((await f.store.readStream(BATCH_STREAM)).length);
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
      await anchorer.stop();
    }
  });

  it('names an anchorer account without funds, its address and balance (was: "could not coalesce error" with the node\'s raw answer)', async () => {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { tasks: 2 });
    const poor = Wallet.createRandom();
    const admin = auditAnchorAt(contract, new Wallet(f.chain.anchorerPrivateKey, f.provider));
    await (await admin.grantRole(await admin.ANCHORER_ROLE(), poor.address)).wait();
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract, privateKey: poor.privateKey as `0x${string}` });
    let err: { code?: string; message?: string; details?: Record<string, unknown> } | undefined;
    await anchorer.tick().catch((e) => (err = e));
    await anchorer.stop();
    expect(err?.code).to.equal('ANCHORER_NO_FUNDS');
    expect(err?.message).to.equal(`the anchorer account ${poor.address.toLowerCase()} cannot pay for anchor(0) on chain 31337: its balance is 0 wei; fund it`);
    expect(err?.details).to.deep.equal({ account: poor.address.toLowerCase(), chainId: 31337, balance: '0' });
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal(0);
  });
});
