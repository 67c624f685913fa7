import { expect } from 'chai';
import { Interface } from 'ethers';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createAnchorer } from '../../src/proofs/anchorer';
import type { SealedBatch } from '../../src/proofs/batch-log';
import { contiguityProblem, listAnchors, type Anchor } from '../../examples/list-anchors';
import { startCountingProxy, type CountingRpcProxy } from '../support/counting-rpc-proxy';
import { deployAnother, openFixture, sealBatches, type Fixture } from './pipeline-fixture';

const EXAMPLE = join(__dirname, '../../examples/list-anchors.ts');
const TSX = join(__dirname, '../../node_modules/tsx/dist/cli.mjs');

/**
 * An auditor showing that no event is missing from a range of seqs needs the batches the chain
 * holds, not the gateway's word for them (docs/proofs.md, "Nothing left out: a range of seqs, a task's whole trail"): which batch covers
 * which seqs, with its root, so that `verify-batch` of each covers the range. There was no way
 * to list them but writing one's own loop over batch(id).
 */
describe('examples/list-anchors.ts: the batches an AuditAnchor holds, from the chain alone', function () {
  this.timeout(120_000);
  let f: Fixture;
  let sealed: SealedBatch[];

  before(async () => {
    f = await openFixture();
    sealed = await sealBatches(f.store, { batches: 3, tasks: 3 });
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: f.chain.contractAddress, privateKey: f.chain.anchorerPrivateKey });
    await anchorer.tick();
    await anchorer.stop();
  });
  after(async () => f?.close());

  it('lists every anchored batch in id order with its range and root, as sealed', async () => {
    const anchors = await listAnchors(f.chain.rpcUrl, f.chain.contractAddress);
    expect(anchors.map(({ id, firstSeq, lastSeq, root }) => ({ id, firstSeq, lastSeq, root }))).to.deep.equal(
      sealed.map((b) => ({ id: b.batchId, firstSeq: b.firstSeq, lastSeq: b.lastSeq, root: b.root })),
    );
    expect(anchors).to.have.length(3);
    for (const a of anchors) expect(a.anchoredAt).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(contiguityProblem(anchors)).to.equal(undefined);
  });

  it('names a range that does not follow the one before (no AuditAnchor records one)', () => {
    const a = (id: number, firstSeq: number, lastSeq: number): Anchor => ({ id, firstSeq, lastSeq, root: `0x${'11'.repeat(32)}`, anchoredAt: '2026-12-07T00:00:00.000Z' });
    expect(contiguityProblem([a(0, 0, 2), a(1, 4, 6)])).to.equal('batch 1 starts at seq 4, not 3: seqs 3..3 are in no batch');
    expect(contiguityProblem([a(0, 0, 2), a(1, 2, 6)])).to.equal('batch 1 starts at seq 2, not 3: seqs 2..2 are in two batches');
    expect(contiguityProblem([a(0, 1, 2)])).to.equal('batch 0 starts at seq 1, not 0: seqs 0..0 are in no batch');
    // A batch inside the one before: only its own seqs are in two batches (it said 3..9).
    expect(contiguityProblem([a(0, 0, 9), a(1, 3, 5)])).to.equal('batch 1 starts at seq 3, not 10: seqs 3..5 are in two batches');
    // A range that ends before it starts (AuditAnchorEmptyRange on a real one) made the next batch's start look right: 4..5 twice.
    expect(contiguityProblem([a(0, 0, 5), a(1, 6, 3), a(2, 4, 9)])).to.equal('batch 1 ends at seq 3, before its first seq 6: no AuditAnchor holds such a range');
  });

  it('prints them and the seqs they cover, exit 0; a contract with no batch yet, or none at the address, says so', async () => {
    const run = (contract: string) => spawnSync(process.execPath, [TSX, EXAMPLE, '--rpc', f.chain.rpcUrl, '--contract', contract], { encoding: 'utf8' });
    const listed = run(f.chain.contractAddress);
    expect(listed.status, listed.stderr).to.equal(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines).to.have.length(4);
    expect(lines[0]).to.match(/^batch 0: seqs 0\.\.\d+, root 0x[0-9a-f]{64}, anchored \d{4}-/);
    expect(lines[3]).to.equal(`batches 0..2 on ${f.chain.contractAddress.toLowerCase()} (chain 31337) cover seqs 0..${(await listAnchors(f.chain.rpcUrl, f.chain.contractAddress))[2].lastSeq} without a gap`);
    const fresh = run(await deployAnother(f.chain));
    expect(fresh.status).to.equal(0);
    expect(fresh.stdout.trim()).to.match(/^no batch anchored on 0x[0-9a-f]{40} \(chain 31337\) yet$/);
    // A mistyped address was looked up as an ENS name: "error: network does not support ENS (…)".
    const typo = run('0x5fbdb2315678afecb367f032d93f642f64180aa');
    expect(typo.status).to.equal(2);
    expect(typo.stderr.trim()).to.equal('--contract takes the AuditAnchor\'s address (0x and 40 hex digits), not 0x5fbdb2315678afecb367f032d93f642f64180aa');
    const nowhere = run(`0x${'00'.repeat(19)}01`);
    expect(nowhere.status).to.equal(1);
    expect(nowhere.stderr.trim()).to.equal(`error: no contract at 0x${'00'.repeat(19)}01 on chain 31337`);
  });
});

/**
 * One `batch(id)` round trip after another: a contract of thousands of batches on a hosted RPC
 * 100 ms away took minutes to list. It reads a few at a time (ethers sends the calls made together as
 * one JSON-RPC batch), never more in flight than `concurrency`, and lists them in id order all the same.
 */
describe('examples/list-anchors.ts over many batches: a few batch(id) reads at a time, in id order', function () {
  this.timeout(180_000);
  let f: Fixture;
  let sealed: SealedBatch[];
  let proxy: CountingRpcProxy;

  before(async () => {
    f = await openFixture();
    sealed = await sealBatches(f.store, { batches: 12, tasks: 3 });
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: f.chain.contractAddress, privateKey: f.chain.anchorerPrivateKey });
    await anchorer.tick();
    await anchorer.stop();
    proxy = await startCountingProxy(f.chain.rpcUrl);
  });
  after(async () => {
    await proxy?.close();
    await f?.close();
  });

  // Not spawnSync: the proxy answers from this process, whose event loop must run meanwhile.
  const runCommand = (...extra: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [TSX, EXAMPLE, '--rpc', proxy.url, '--contract', f.chain.contractAddress, ...extra]);
      let [stdout, stderr] = ['', ''];
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  const ranges = (xs: { firstSeq: number; lastSeq: number; root: string }[]) => xs.map(({ firstSeq, lastSeq, root }) => ({ firstSeq, lastSeq, root }));

  it('lists every batch as sealed, with at most `concurrency` reads in flight and fewer round trips than batches', async () => {
    proxy.reset();
    const anchors = await listAnchors(proxy.url, f.chain.contractAddress, { concurrency: 4 });
    expect(anchors.map((a) => a.id)).to.deep.equal(sealed.map((b) => b.batchId));
    expect(ranges(anchors)).to.deep.equal(ranges(sealed));
    expect(contiguityProblem(anchors)).to.equal(undefined);
    // nextBatchId() and the 12 batch(id) calls, all eth_call.
    expect(proxy.count('eth_call')).to.equal(13);
    expect(proxy.maxInFlight('eth_call')).to.be.within(2, 4);
    expect(proxy.requests('eth_call')).to.be.below(sealed.length);
  });

  it('concurrency 1 reads one batch at a time, as before', async () => {
    proxy.reset();
    const anchors = await listAnchors(proxy.url, f.chain.contractAddress, { concurrency: 1 });
    expect(ranges(anchors)).to.deep.equal(ranges(sealed));
    expect(proxy.maxInFlight('eth_call')).to.equal(1);
  });

  // The docs said `--concurrency 1` for an RPC that refuses batch requests, but ethers still batched
  // the calls it made together (eth_chainId with eth_getCode): such an RPC failed at any concurrency.
  it('concurrency 1 sends no JSON-RPC batch request, so an RPC that refuses them lists all the same; a higher one fails naming the read and the way out', async () => {
    proxy.reset();
    proxy.refuseBatches({ code: -32600, message: 'batch requests are not supported' });
    try {
      const anchors = await listAnchors(proxy.url, f.chain.contractAddress, { concurrency: 1 });
      expect(ranges(anchors)).to.deep.equal(ranges(sealed));
      const refused = await runCommand('--concurrency', '4');
      expect(refused.status).to.equal(1);
      expect(refused.stderr.trim()).to.match(/^error: .*; an RPC that refuses JSON-RPC batch requests fails so: try --concurrency 1$/);
      const listed = await runCommand('--concurrency', '1');
      expect(listed.status, listed.stderr).to.equal(0);
      expect(listed.stdout.trim().split('\n')).to.have.length(13);
    } finally {
      proxy.refuseBatches(undefined);
    }
  });

  it('one batch(id) read that fails fails the list, naming the batch, and lists nothing', async () => {
    const batchCall = new Interface(['function batch(uint64 batchId)']).encodeFunctionData('batch', [5]);
    proxy.reset();
    proxy.refuse(['eth_call'], { code: -32005, message: 'request rate limited' }, (c) => (c.params?.[0] as { data?: string; input?: string })?.data === batchCall || (c.params?.[0] as { input?: string })?.input === batchCall);
    try {
      for (const concurrency of [1, 4]) {
        const err = await listAnchors(proxy.url, f.chain.contractAddress, { concurrency }).then(() => undefined, (e: Error) => e);
        expect(err?.message, String(concurrency)).to.match(/^reading batch\(5\): /);
      }
      const failed = await runCommand();
      expect(failed.status).to.equal(1);
      expect(failed.stdout).to.equal('');
      expect(failed.stderr.trim()).to.match(/^error: reading batch\(5\): /);
    } finally {
      proxy.refuse([]);
    }
  });

  it('the command takes --concurrency N and refuses one that is not a whole number from 1 up (exit 2)', async () => {
    const run = runCommand;
    proxy.reset();
    const listed = await run('--concurrency', '3');
    expect(listed.status, listed.stderr).to.equal(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines).to.have.length(13);
    expect(lines.slice(0, 12).map((l) => Number(/^batch (\d+):/.exec(l)?.[1]))).to.deep.equal(sealed.map((b) => b.batchId));
    expect(lines[12]).to.match(/^batches 0\.\.11 on 0x[0-9a-f]{40} \(chain 31337\) cover seqs 0\.\.\d+ without a gap$/);
    expect(proxy.maxInFlight('eth_call')).to.be.within(2, 3);
    for (const bad of ['0', '-2', '1.5', 'many']) {
      const refused = await run('--concurrency', bad);
      expect(refused.status, bad).to.equal(2);
      expect(refused.stderr.trim()).to.equal(`--concurrency takes how many batch(id) reads may be in flight at once (a whole number from 1), not ${bad}`);
    }
    // Given last, with no number: it read as no --concurrency at all.
    const bare = await run('--concurrency');
    expect(bare.status).to.equal(2);
    expect(bare.stderr.trim()).to.equal('--concurrency takes how many batch(id) reads may be in flight at once (a whole number from 1), not nothing');
  });
});
