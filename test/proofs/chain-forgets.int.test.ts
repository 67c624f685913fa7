import { expect } from 'chai';
import { ContractFactory, Wallet } from 'ethers';
import singleStepAdmin from '../fixtures/AuditAnchor.single-step-admin.artifact.json';
import { createAnchorer, type AnchorerOptions } from '../../src/proofs/anchorer';
import { BATCH_STREAM } from '../../events/audit-streams';
import { buildProof, listBatches } from '../../src/proofs/batches';
import { verifyProofFile } from '../../src/proofs/verify-proof';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { deployDemoToken } from '../../src/web3/sample-contracts';
import { startCountingProxy } from '../support/counting-rpc-proxy';
import { deployAnother, openChainFixture, queries, sealBatches, type ChainFixture } from './pipeline-fixture';

/**
 * The chain is not always what the anchor stream says it is: a reorg deeper than the
 * confirmations, a node that lost its state (evm_revert stands in for both: same genesis, same
 * contract, fewer batches), someone else anchoring into the contract, a transaction the node
 * dropped. This file reverts chain snapshots, so it has its own chain.
 */
describe('anchorer when the chain forgets or contradicts what was anchored', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  before(async () => {
    f = await openChainFixture();
  });
  after(() => f?.close());

  /** A fresh contract and `batches` more sealed batches of 3 events. */
  async function setup(batches: number): Promise<{ contract: string; opts: AnchorerOptions; errors: unknown[] }> {
    const contract = await deployAnother(f.chain);
    await sealBatches(f.store, { batches, tasks: 3 });
    const errors: unknown[] = [];
    return { contract, errors, opts: { rpcUrl: f.chain.rpcUrl, contract, privateKey: f.chain.anchorerPrivateKey, onError: (e) => errors.push(e) } };
  }

  async function chainMatchesLog(contract: string): Promise<void> {
    const sealed = (await f.store.readStream(BATCH_STREAM)).map((e) => e.data as { batchId: number; root: string; firstSeq: number; lastSeq: number });
    const c = auditAnchorAt(contract, f.provider);
    expect(Number(await c.nextBatchId())).to.equal(sealed.length);
    for (const b of sealed) {
      const [root, firstSeq, lastSeq] = await c.batch(b.batchId);
      expect([root, Number(firstSeq), Number(lastSeq)], `batch ${b.batchId}`).to.deep.equal([b.root, b.firstSeq, b.lastSeq]);
    }
  }

  it('anchors again the batches a chain lost (same genesis), and says so (was: reverted forever)', async () => {
    const { contract, opts, errors } = await setup(3);
    const snapshot = await f.provider.send('evm_snapshot', []);
    const anchorer = createAnchorer(f.store, opts);
    const sealed = (await f.store.readStream(BATCH_STREAM)).length;
    expect(await anchorer.tick()).to.equal(sealed);
    expect(await f.provider.send('evm_revert', [snapshot])).to.equal(true);
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal(0);

    expect(await anchorer.tick()).to.equal(sealed);
    await anchorer.stop();
    await chainMatchesLog(contract);
    expect(errors.map((e) => (e as { code?: string }).code)).to.deep.equal(['ANCHORS_LOST']);
  });

  it('records the transaction that anchors a lost batch again (BatchReanchored), and proofs and batches name it; a proof naming the lost one still verifies (was: BatchAnchored kept naming the lost transaction)', async () => {
    const { contract, opts } = await setup(3);
    // An event of the newest batch: its proof names that batch's anchor.
    const newest = (await f.store.readStream(BATCH_STREAM)).at(-1)!.data as { lastPosition: number };
    const event = (await f.store.readAll({ after: newest.lastPosition - 1, limit: 1 }))[0];
    const snapshot = await f.provider.send('evm_snapshot', []);
    const anchorer = createAnchorer(f.store, opts);
    const q = queries(f.store, () => anchorer.anchorStream());
    try {
      const sealed = (await f.store.readStream(BATCH_STREAM)).length;
      expect(await anchorer.tick()).to.equal(sealed);
      const before = await buildProof(q, event.id);
      // Blocks on the other branch, so the batches are anchored again in other blocks than before.
      await f.provider.send('evm_revert', [snapshot]);
      await f.provider.send('hardhat_mine', ['0x5']);
      expect(await anchorer.tick()).to.equal(sealed);
      await chainMatchesLog(contract);

      const after = await buildProof(q, event.id);
      expect(after.anchor.blockNumber).to.not.equal(before.anchor.blockNumber);
      const receipt = await f.provider.getTransactionReceipt(after.anchor.txHash);
      expect(receipt?.blockNumber).to.equal(after.anchor.blockNumber);
      const lost = await f.provider.getTransactionReceipt(before.anchor.txHash);
      expect(lost?.blockNumber ?? null).to.not.equal(before.anchor.blockNumber);
      // Every batch listed names a transaction the chain has, in its block.
      for (const b of await listBatches(q)) {
        const r = await f.provider.getTransactionReceipt(b.anchor!.txHash);
        expect(r?.blockNumber, `batch ${b.id}`).to.equal(b.anchor!.blockNumber);
      }
      const ofContract = async () => (await f.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchReanchored' && (e.data as { contract: string }).contract === contract);
      const reanchored = await ofContract();
      expect(reanchored.map((e) => (e.data as { batchId: number }).batchId)).to.deep.equal([...Array(sealed).keys()]);
      const last = reanchored.find((e) => (e.data as { batchId: number }).batchId === after.batch.id)!.data;
      expect(last).to.include({ txHash: after.anchor.txHash, blockNumber: after.anchor.blockNumber, replacesTxHash: before.anchor.txHash, replacesBlockNumber: before.anchor.blockNumber });

      // The verdict rests on batch(id), not on the transaction: both files pass.
      for (const proof of [after, before]) {
        const checks = await verifyProofFile(proof, { rpcUrl: f.chain.rpcUrl, contract });
        expect(checks.filter((c) => !c.ok), proof.anchor.txHash).to.deep.equal([]);
        // The lost transaction is named in a warning, not a failure; the current one is checked.
        const warnings = checks.flatMap((c) => (c.warning ? [c.warning] : []));
        if (proof === before) expect(warnings.join('\n')).to.match(/transaction 0x[0-9a-f]{64} (is not on this chain|anchored batch \d+ in block \d+, not in block)/);
        else expect(warnings).to.deep.equal([]);
      }
      // A later round writes nothing more.
      expect(await anchorer.tick()).to.equal(0);
      expect(await ofContract()).to.have.length(sealed);
    } finally {
      await anchorer.stop();
    }
  });

  it('a restart between anchoring a lost batch again and recording it still records it (BatchReanchored), at the next start\'s first round (was: its BatchAnchored kept naming the lost transaction for good)', async () => {
    const { contract, opts } = await setup(3);
    const snapshot = await f.provider.send('evm_snapshot', []);
    const first = createAnchorer(f.store, opts);
    const sealed = (await f.store.readStream(BATCH_STREAM)).length;
    expect(await first.tick()).to.equal(sealed);
    await first.stop();
    await f.provider.send('evm_revert', [snapshot]);
    await f.provider.send('hardhat_mine', ['0x5']);
    // The run that anchors the lost batches again stops after the first is mined, before recording it.
    const crashing = createAnchorer(f.store, {
      ...opts,
      faults: (point) => {
        if (point === 'after-confirm') throw new Error('crash after the re-anchor was mined');
      },
    });
    await crashing.tick().then(() => expect.fail('the fault did not fire'), (e: Error) => expect(e.message).to.equal('crash after the re-anchor was mined'));
    await crashing.stop();
    const next = createAnchorer(f.store, opts);
    try {
      expect(await next.tick()).to.equal(sealed - 1);
      await chainMatchesLog(contract);
      const q = queries(f.store, () => next.anchorStream());
      for (const b of await listBatches(q)) {
        const r = await f.provider.getTransactionReceipt(b.anchor!.txHash);
        expect(r?.blockNumber, `batch ${b.id}`).to.equal(b.anchor!.blockNumber);
      }
    } finally {
      await next.stop();
    }
  });

  it('refuses to anchor on top of roots it did not anchor (ANCHOR_MISMATCH, expected and chain root named)', async () => {
    const { contract, opts } = await setup(1);
    const snapshot = await f.provider.send('evm_snapshot', []);
    const anchorer = createAnchorer(f.store, opts);
    const sealed = (await f.store.readStream(BATCH_STREAM)).map((e) => e.data as { lastSeq: number; root: string });
    expect(await anchorer.tick()).to.equal(sealed.length);
    await f.provider.send('evm_revert', [snapshot]);
    // Someone holding the anchorer role fills the same ids with other roots.
    const writer = auditAnchorAt(contract, new Wallet(f.chain.anchorerPrivateKey, f.provider));
    let firstSeq = 0;
    for (let id = 0; id < sealed.length; id++) {
      await (await writer.anchor(id, firstSeq, sealed[id].lastSeq, `0x${'77'.repeat(32)}`)).wait();
      firstSeq = sealed[id].lastSeq + 1;
    }
    await sealBatches(f.store, { tasks: 3 });

    let err: { code?: string; details?: Record<string, unknown> } | undefined;
    await anchorer.tick().catch((e) => (err = e));
    await anchorer.stop();
    expect(err?.code).to.equal('ANCHOR_MISMATCH');
    expect(err?.details).to.include({ batchId: sealed.length - 1, expectedRoot: sealed[sealed.length - 1].root, chainRoot: `0x${'77'.repeat(32)}` });
    // Nothing was added over the foreign roots (was: the next batch was anchored after them).
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal(sealed.length);
  });

  /**
   * An anchorer through a proxy that can hide the newest anchor's receipt and BatchAnchored log, as
   * a load-balanced hosted RPC does whose backend already has the contract's state but not yet that
   * transaction's receipt and logs; its batches anchored and recorded, the newest transaction's hash.
   */
  async function laggingRpc() {
    const { contract, opts, errors } = await setup(2);
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    const lines: string[] = [];
    const hashes: string[] = [];
    const anchorer = createAnchorer(f.store, { ...opts, rpcUrl: proxy.url, log: (l) => lines.push(l), onAnchored: (r) => hashes.push(r.txHash) });
    expect(await anchorer.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
    const newest = hashes[hashes.length - 1];
    // What the later rounds say (not the new deployment the first one announces when earlier tests anchored elsewhere).
    lines.length = 0;
    const hide = (on: boolean) => {
      proxy.edit('eth_getTransactionReceipt', on ? (r) => ((r as { transactionHash?: string } | null)?.transactionHash?.toLowerCase() === newest ? null : r) : undefined);
      proxy.edit('eth_getLogs', on ? (r) => (r as { transactionHash: string }[]).filter((l) => l.transactionHash.toLowerCase() !== newest) : undefined);
    };
    return { contract, errors, lines, proxy, anchorer, newest, hide };
  }

  it('a running anchorer whose RPC has the contract\'s state but not yet its newest anchor\'s receipt and log checks that record again next round, no ANCHOR_MISMATCH (was: ANCHOR_MISMATCH "its BatchAnchored log was not found" for one round, read as tampering)', async () => {
    const { contract, errors, lines, proxy, anchorer, hide } = await laggingRpc();
    try {
      hide(true);
      // The round after the anchor checks its record: the backend it reaches lags.
      expect(await anchorer.tick()).to.equal(0);
      hide(false);
      proxy.reset();
      expect(await anchorer.tick()).to.equal(0);
      // Checked now (its receipt read)...
      expect(proxy.count('eth_getTransactionReceipt')).to.be.greaterThan(0);
      proxy.reset();
      // ...and not again: the check was done.
      expect(await anchorer.tick()).to.equal(0);
      expect(proxy.count('eth_getTransactionReceipt')).to.equal(0);
      await chainMatchesLog(contract);
    } finally {
      await anchorer.stop();
      await proxy.close();
    }
    expect(errors).to.deep.equal([]);
    expect(lines).to.deep.equal([]);
  });

  it('a running anchorer whose RPC finds neither its newest anchor\'s receipt nor its log for 3 rounds running, the contract agreeing, says so at the second and reports ANCHOR_MISMATCH at the third', async () => {
    const { errors, lines, proxy, anchorer, newest, hide } = await laggingRpc();
    try {
      hide(true);
      expect(await anchorer.tick()).to.equal(0);
      expect(lines).to.deep.equal([]);
      expect(await anchorer.tick()).to.equal(0);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include(`anchorer: batch ${(await f.store.readStream(BATCH_STREAM)).length - 1}'s anchor transaction ${newest} is not found by the RPC (no receipt, no BatchAnchored log) although the contract holds its root and range, for 2 rounds`);
      const err = (await anchorer.tick().then(() => expect.fail('no ANCHOR_MISMATCH'), (e: unknown) => e)) as { code?: string; message?: string };
      expect(err.code).to.equal('ANCHOR_MISMATCH');
      expect(err.message).to.include('anchored on chain but its BatchAnchored log was not found');
      expect(err.message).to.include(`3 rounds running`);
    } finally {
      await anchorer.stop();
      await proxy.close();
    }
    expect(errors).to.deep.equal([]);
  });

  it('names a contract address without code (was: "could not decode result data")', async () => {
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: `0x${'12'.repeat(20)}`, privateKey: f.chain.anchorerPrivateKey });
    let err: { code?: string; message?: string } | undefined;
    await anchorer.tick().catch((e) => (err = e));
    await anchorer.stop();
    expect(err?.code).to.equal('ANCHOR_CONTRACT_MISSING');
    expect(err?.message).to.equal(`no contract at 0x${'12'.repeat(20)} on chain 31337: check ANCHOR_CONTRACT, or deploy with \`openmcp contracts deploy\``);
  });

  it('names a contract address whose code is not AuditAnchor (was: "could not decode result data" each round)', async () => {
    const token = (await deployDemoToken(new Wallet(f.chain.anchorerPrivateKey, f.provider), 1000n)).address;
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: token, privateKey: f.chain.anchorerPrivateKey });
    let err: { code?: string; message?: string } | undefined;
    await anchorer.tick().catch((e) => (err = e));
    await anchorer.stop();
    expect(err?.code).to.equal('ANCHOR_CONTRACT_MISSING');
    expect(err?.message).to.equal(`the contract at ${token} on chain 31337 is not an AuditAnchor (it does not answer nextBatchId()): check ANCHOR_CONTRACT, or deploy with \`openmcp contracts deploy\``);
  });

  it('takes an AuditAnchor of either admin model for one (deployed before release 2026-12-11: single-step admin; since: two-step) and anchors onto it', async () => {
    const { contract: twoStep, opts } = await setup(1);
    const wallet = new Wallet(f.chain.anchorerPrivateKey, f.provider);
    const old = await new ContractFactory(singleStepAdmin.abi as never, singleStepAdmin.bytecode, wallet).deploy(wallet.address, wallet.address);
    await old.waitForDeployment();
    const oldAddress = (await old.getAddress()).toLowerCase();
    // The old bytecode really is the old model: it has no defaultAdmin().
    await auditAnchorAt(oldAddress, f.provider).defaultAdmin().then(
      () => expect.fail('the single-step contract answered defaultAdmin()'),
      (e: { code?: string }) => expect(e.code).to.equal('CALL_EXCEPTION'),
    );
    const sealed = (await f.store.readStream(BATCH_STREAM)).length;
    for (const contract of [twoStep, oldAddress]) {
      const errors: unknown[] = [];
      const anchorer = createAnchorer(f.store, { ...opts, contract, onError: (e) => errors.push(e) });
      expect(await anchorer.tick(), contract).to.equal(sealed);
      await anchorer.stop();
      expect(errors).to.deep.equal([]);
      await chainMatchesLog(contract);
    }
  });

  it('refuses a chain whose id is not CHAIN_ID, naming both, and anchors nothing there (was: anchored on whatever chain CHAIN_RPC_URL served)', async () => {
    const { contract, opts } = await setup(1);
    const wrong = createAnchorer(f.store, { ...opts, chainId: 1 });
    let err: { code?: string; message?: string; details?: unknown } | undefined;
    await wrong.tick().catch((e) => (err = e));
    expect(err?.code).to.equal('CONFIG_INVALID');
    expect(err?.message).to.equal('CHAIN_ID is 1 but CHAIN_RPC_URL serves chain 31337: anchoring nothing there (check CHAIN_RPC_URL, or CHAIN_ID)');
    expect(err?.details).to.deep.equal({ variable: 'CHAIN_ID', expected: 1, chainId: 31337 });
    await wrong.anchorStream().then(() => expect.fail('anchorStream answered'), (e) => expect(e.code).to.equal('CONFIG_INVALID'));
    await wrong.stop();
    expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal(0);
    const right = createAnchorer(f.store, { ...opts, chainId: 31337 });
    expect(await right.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
    await right.stop();
  });

  it('refuses a chain id that changes under a running anchorer, naming both ids and what to do, with or without CHAIN_ID, and goes on once the RPC serves its chain again (was: ethers\' "network changed: 31337 => 1" NETWORK_ERROR every round, which no alert watches)', async () => {
    const { contract, opts } = await setup(1);
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    // targetMaxAgeMs 0: its queries (anchorStream) ask the chain each time, as they do 10 s on.
    const plain = createAnchorer(f.store, { ...opts, rpcUrl: proxy.url, targetMaxAgeMs: 0 });
    const pinned = createAnchorer(f.store, { ...opts, rpcUrl: proxy.url, chainId: 31337 });
    try {
      expect(await plain.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
      expect(await pinned.tick()).to.equal(0);
      await setup(1);
      // The URL now reaches a node of another chain (a provider's endpoint edited, a load balancer misrouting).
      proxy.serveChainId(1);
      const refusal = async (a: ReturnType<typeof createAnchorer>) => {
        const err = (await a.tick().then(() => expect.fail('anchored'), (e: unknown) => e)) as { code?: string; message?: string; details?: unknown };
        return { code: err.code, message: err.message, details: err.details };
      };
      expect(await refusal(plain)).to.deep.equal({
        code: 'CONFIG_INVALID',
        message:
          'CHAIN_RPC_URL served chain 31337 when the anchorer started and now serves chain 1: anchoring nothing there (point CHAIN_RPC_URL back at a node of chain 31337; to anchor on chain 1 instead, set CHAIN_ID=1 and restart: a new deployment, every batch anchored again)',
        details: { variable: 'CHAIN_RPC_URL', expected: 31337, chainId: 1 },
      });
      expect(await refusal(pinned)).to.deep.equal({
        code: 'CONFIG_INVALID',
        message: 'CHAIN_ID is 31337 but CHAIN_RPC_URL serves chain 1: anchoring nothing there (check CHAIN_RPC_URL, or CHAIN_ID)',
        details: { variable: 'CHAIN_ID', expected: 31337, chainId: 1 },
      });
      await plain.anchorStream().then(() => expect.fail('anchorStream answered'), (e) => expect(e.code).to.equal('CONFIG_INVALID'));
      expect(Number(await auditAnchorAt(contract, f.provider).nextBatchId())).to.equal((await f.store.readStream(BATCH_STREAM)).length - 1);
      proxy.serveChainId(undefined);
      expect(await plain.tick()).to.equal(1);
      await chainMatchesLog(contract);
    } finally {
      await plain.stop();
      await pinned.stop();
      await proxy.close();
    }
  });

  it('without CHAIN_ID, an anchorer made later in the process (the next leader term\'s, sharing firstChain) keeps to the chain the first one met, and goes on once the URL serves it again (was: a term begun after the URL moved took the other chain for a new deployment and recorded the batches found on chain as anchored on it)', async () => {
    const { contract, opts } = await setup(1);
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    const firstChain: { id?: number } = {};
    const term1 = createAnchorer(f.store, { ...opts, rpcUrl: proxy.url, firstChain });
    let term2: ReturnType<typeof createAnchorer> | undefined;
    try {
      expect(await term1.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
      expect(term1.startedOn()).to.equal(31337);
      await term1.stop();
      await sealBatches(f.store, { tasks: 3 });
      // The URL reaches a node of another chain, and the term ends (a lease renewal that failed): the next term begins there.
      proxy.serveChainId(1);
      term2 = createAnchorer(f.store, { ...opts, rpcUrl: proxy.url, firstChain });
      const err = (await term2.tick().then(() => expect.fail('anchored'), (e: unknown) => e)) as { code?: string; message?: string };
      expect([err.code, err.message]).to.deep.equal([
        'CONFIG_INVALID',
        'CHAIN_RPC_URL served chain 31337 when the anchorer started and now serves chain 1: anchoring nothing there (point CHAIN_RPC_URL back at a node of chain 31337; to anchor on chain 1 instead, set CHAIN_ID=1 and restart: a new deployment, every batch anchored again)',
      ]);
      expect((await f.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'BatchAnchored' && (e.data as { chainId: number }).chainId === 1)).to.deep.equal([]);
      proxy.serveChainId(undefined);
      expect(await term2.tick()).to.equal(1);
      await chainMatchesLog(contract);
    } finally {
      await term1.stop();
      await term2?.stop();
      await proxy.close();
    }
  });

  it('with CHAIN_ID, a URL that served another chain at the first contact and serves CHAIN_ID\'s since is anchored on, no restart (was: "CHAIN_ID is 31337 but CHAIN_RPC_URL serves chain 31337" every round until a restart: the provider kept to the chain it met first)', async () => {
    const { contract, opts } = await setup(1);
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    // The URL reaches a node of another chain at start (a load balancer misrouting, an endpoint being moved).
    proxy.serveChainId(1);
    const pinned = createAnchorer(f.store, { ...opts, rpcUrl: proxy.url, chainId: 31337 });
    try {
      const err = (await pinned.tick().then(() => expect.fail('anchored'), (e: unknown) => e)) as { code?: string; message?: string };
      expect([err.code, err.message]).to.deep.equal(['CONFIG_INVALID', 'CHAIN_ID is 31337 but CHAIN_RPC_URL serves chain 1: anchoring nothing there (check CHAIN_RPC_URL, or CHAIN_ID)']);
      proxy.serveChainId(undefined);
      expect(await pinned.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
      await chainMatchesLog(contract);
    } finally {
      await pinned.stop();
      await proxy.close();
    }
  });

  it('an RPC refusing the contract read (a rate limit) is DEPENDENCY_UNAVAILABLE in the node\'s words, not a contract that is no AuditAnchor, and anchoring goes on once it answers (was: ANCHOR_CONTRACT_MISSING "not an AuditAnchor" on first contact, "missing revert data" later)', async () => {
    const { contract, opts } = await setup(1);
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    const url = `${proxy.url}/v3/abcdef0123456789abcdef0123456789`;
    proxy.refuse(['eth_call'], { code: -32005, message: 'daily request count exceeded, request rate limited' });
    const anchorer = createAnchorer(f.store, { ...opts, rpcUrl: url });
    try {
      const failed = async () => (await anchorer.tick().then(() => expect.fail('anchored'), (e: unknown) => e)) as { code?: string; message?: string };
      for (const err of [await failed(), await failed()]) {
        expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
        expect(err.message).to.equal(
          `chain RPC: the node at ${proxy.url}/v3/*** refused eth_call: -32005 daily request count exceeded, request rate limited (the RPC provider's rate limit or quota, or a key it does not take? see its dashboard, or set CHAIN_RPC_URL to another node); anchoring waits and tries again`,
        );
      }
      proxy.refuse([]);
      expect(await anchorer.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
      await chainMatchesLog(contract);
    } finally {
      await anchorer.stop();
      await proxy.close();
    }
  });

  it('gives up its own anchor the chain no longer has, on a nonce now ahead of the account\'s (a node that lost its state), and the next round anchors again (was: "waits behind nonce" for ever)', async () => {
    const { contract, opts } = await setup(1);
    const snapshot = await f.provider.send('evm_snapshot', []);
    let failOnce = false;
    const anchorer = createAnchorer(f.store, {
      ...opts,
      txTimeoutMs: 300,
      faults: (point) => {
        if (point === 'after-send' && failOnce) throw ((failOnce = false), new Error('connection lost after the send'));
      },
    });
    try {
      expect(await anchorer.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
      await sealBatches(f.store, { tasks: 3 });
      await f.provider.send('evm_setAutomine', [false]);
      failOnce = true;
      await anchorer.tick().then(() => expect.fail('the fault did not fire'), (e: Error) => expect(e.message).to.equal('connection lost after the send'));
      // The node loses its state (same genesis): the anchors and the pending transaction are gone.
      await f.provider.send('evm_revert', [snapshot]);
      await f.provider.send('evm_setAutomine', [true]);
      const held = new Promise<string>((r) => setTimeout(() => r('still waiting for the lost transaction'), 10_000));
      const said = await Promise.race([anchorer.tick().then(String, (e: Error) => e.message), held]);
      expect(said).to.match(/^anchor\(\d+\) transaction 0x[0-9a-f]{64} is gone and its nonce \d+ is ahead of the anchorer account's next, \d+: the chain lost it \(a node that lost its state\?\); the next round reads the chain again$/);
      expect(await anchorer.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
      await chainMatchesLog(contract);
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
      await anchorer.stop();
    }
  });

  it('leaves its own anchor of a failed round once sending it again reverts (the node dropped it and another anchorer key anchored the batch), and the next round reads the chain (was: kept, waited for and sent again every round, reverting, for ever)', async () => {
    const { contract, opts } = await setup(1);
    // A second key holding the anchorer role (a key being rotated in: docs/operations.md, "Rotating keys").
    const other = new Wallet('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d', f.provider);
    const admin = auditAnchorAt(contract, new Wallet(f.chain.anchorerPrivateKey, f.provider));
    await (await admin.grantRole(await admin.ANCHORER_ROLE(), other.address)).wait();
    let failOnce = true;
    const anchorer = createAnchorer(f.store, {
      ...opts,
      txTimeoutMs: 300,
      faults: (point) => {
        if (point === 'after-send' && failOnce) throw ((failOnce = false), new Error('connection lost after the send'));
      },
    });
    await f.provider.send('evm_setAutomine', [false]);
    try {
      await anchorer.tick().then(() => expect.fail('the fault did not fire'), (e: Error) => expect(e.message).to.equal('connection lost after the send'));
      const [pending] = (await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[];
      await f.provider.send('hardhat_dropTransaction', [pending.hash]);
      const b = (await f.store.readStream(BATCH_STREAM))[0].data as { batchId: number; firstSeq: number; lastSeq: number; root: string };
      await auditAnchorAt(contract, other).anchor(b.batchId, b.firstSeq, b.lastSeq, b.root);
      await f.provider.send('evm_mine', []);
      await f.provider.send('evm_setAutomine', [true]);
      await anchorer.tick().then(() => expect.fail('anchored'), (e: Error) => expect(e.message).to.match(/^anchor\(0\) reverted with AuditAnchorBatchOutOfOrder\(1, 0\)/));
      const held = new Promise<string>((r) => setTimeout(() => r('still sending the reverting anchor again'), 10_000));
      const sealed = (await f.store.readStream(BATCH_STREAM)).length;
      expect(await Promise.race([anchorer.tick().catch((e: Error) => e.message), held])).to.equal(sealed - 1);
      await chainMatchesLog(contract);
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
      await anchorer.stop();
    }
  });

  it('sends a transaction the node dropped again, on its nonce, within the same round (was: waited forever; then TIMEOUT and the next round)', async () => {
    const { contract, opts } = await setup(1);
    await f.provider.send('evm_setAutomine', [false]);
    let dropped = false;
    const anchorer = createAnchorer(f.store, {
      ...opts,
      txTimeoutMs: 1500,
      faults: async (point) => {
        if (point !== 'after-send' || dropped) return;
        dropped = true;
        for (const tx of (await f.provider.send('eth_pendingTransactions', [])) as { hash: string }[]) await f.provider.send('hardhat_dropTransaction', [tx.hash]);
        await f.provider.send('evm_setAutomine', [true]);
      },
    });
    try {
      expect(await anchorer.tick()).to.equal((await f.store.readStream(BATCH_STREAM)).length);
    } finally {
      await f.provider.send('evm_setAutomine', [true]);
    }
    await anchorer.stop();
    await chainMatchesLog(contract);
  });
});
