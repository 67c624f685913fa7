import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAnchorer } from '../../src/proofs/anchorer';
import { buildProof, getBatch, getBatchEvents, listBatches } from '../../src/proofs/batches';
import { createSealer } from '../../src/proofs/sealer';
import { ProofPendingError } from '../../src/proofs/errors';
import { PROOF_CHECKS } from '../../src/proofs/verify-proof';
import { runVerify } from '../../src/cli/verify';
import { runVerifyBatch } from '../../src/cli/verify-batch';
import { openFixture, queries, SEALER_KEY, submitTasks, type Fixture } from './pipeline-fixture';

describe('proofs end to end (SQLite event store, embedded Hardhat chain)', function () {
  this.timeout(120_000);
  let f: Fixture;

  before(async () => {
    f = await openFixture();
  });
  after(async () => f?.close());

  it('seals, anchors, serves a proof that `openmcp verify` accepts, and names the check a tampered copy fails', async () => {
    const tasks = await submitTasks(f.store, 12);
    const sealer = createSealer(f.store, { sealerKey: SEALER_KEY, maxEvents: 5, maxWaitMs: 60_000 });
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: f.chain.contractAddress, privateKey: f.chain.anchorerPrivateKey });
    const q = queries(f.store, () => anchorer.anchorStream());

    // 12 events at 5 per batch: two full batches now, the rest waits for time or more events.
    expect((await sealer.tick())?.batchId).to.equal(0);
    expect((await sealer.tick())?.batchId).to.equal(1);
    expect(await sealer.tick()).to.equal(undefined);
    try {
      await buildProof(q, tasks[7].id);
      expect.fail('proof should be pending');
    } catch (err) {
      expect(err).to.be.instanceOf(ProofPendingError);
      expect((err as ProofPendingError).code).to.equal('PROOF_PENDING');
      expect((err as ProofPendingError).status).to.equal(409);
    }
    expect(await anchorer.tick()).to.equal(2);
    expect(await anchorer.tick()).to.equal(0);

    const proof = await buildProof(q, tasks[7].id);
    expect(proof).to.include({ format: 'openmcp-proof/1', seq: 7, index: 2, treeSize: 5 });
    expect(proof.batch).to.include({ id: 1, firstSeq: 5, lastSeq: 9 });
    expect(proof.anchor).to.include({ chainId: 31337, contract: f.chain.contractAddress });
    expect(proof.event.id).to.equal(tasks[7].id);

    const file = join(f.dir, 'proof.json');
    writeFileSync(file, JSON.stringify(proof, null, 2));
    const lines: string[] = [];
    expect(await runVerify({ file, rpc: f.chain.rpcUrl, out: (l) => lines.push(l) })).to.equal(0);
    expect(lines.filter((l) => l.startsWith('✔')).length).to.equal(PROOF_CHECKS.length);

    const tamper = async (name: string, mutate: (p: typeof proof) => void): Promise<string> => {
      const copy = JSON.parse(JSON.stringify(proof));
      mutate(copy);
      const path = join(f.dir, `proof-${name}.json`);
      writeFileSync(path, JSON.stringify(copy));
      const out: string[] = [];
      const code = await runVerify({ file: path, rpc: f.chain.rpcUrl, out: (l) => out.push(l) });
      expect(code, name).to.not.equal(0);
      return out[out.length - 1];
    };
    const flipHexByte = (h: string, at = 2) => h.slice(0, at) + (h[at] === '0' ? '1' : '0') + h.slice(at + 1);
    expect(await tamper('event', (p) => ((p.event.data as { steps: { arguments: { text: string } }[] }).steps[0].arguments.text = 'hI 7'))).to.equal(
      `FAILED: event hash (${join(f.dir, 'proof-event.json')})`,
    );
    expect(await tamper('path', (p) => (p.path[0] = flipHexByte(p.path[0], 10) as never))).to.match(/^FAILED: root from path/);
    expect(await tamper('root', (p) => (p.batch.root = flipHexByte(p.batch.root, 65) as never))).to.match(/^FAILED: root from path/);
    expect(await tamper('signature', (p) => (p.batch.signature = flipHexByte(p.batch.signature, 20) as never))).to.match(/^FAILED: batch signature/);
    expect(await tamper('event-hash', (p) => (p.event.hash = flipHexByte(p.event.hash, 30) as never))).to.match(/^FAILED: event hash/);
    // A consistent forgery (new root, re-signed by someone else's key) still fails: the chain disagrees.
    expect(await tamper('contract', (p) => (p.anchor.contract = '0x000000000000000000000000000000000000dead' as never))).to.match(/^FAILED: on-chain root/);

    // The API's answer saved before the batch was anchored: said so, exit 2 (not a proof at all).
    const pending = join(f.dir, 'pending.json');
    writeFileSync(pending, JSON.stringify({ type: 'about:blank', title: 'Conflict', status: 409, code: 'PROOF_PENDING', detail: 'batch not anchored yet' }));
    const said: string[] = [];
    expect(await runVerify({ file: pending, rpc: f.chain.rpcUrl, out: (l) => said.push(l) })).to.equal(2);
    expect(said).to.deep.equal([`FAILED: ${pending} is an error answer from the API, not a proof: PROOF_PENDING: batch not anchored yet`]);
  });

  it('serves batches and an export that verify-batch accepts, and fails when an event is deleted', async () => {
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: f.chain.contractAddress, privateKey: f.chain.anchorerPrivateKey });
    const q = queries(f.store, () => anchorer.anchorStream());
    const list = await listBatches(q);
    expect(list.map((b) => b.id)).to.deep.equal([1, 0]);
    expect((await getBatch(q, 0)).anchor).to.include({ chainId: 31337 });
    const exported = await getBatchEvents(q, 1);
    expect(exported.events.map((e) => e.position)).to.deep.equal([5, 6, 7, 8, 9]);

    const file = join(f.dir, 'batch-1.json');
    writeFileSync(file, JSON.stringify(exported));
    const out: string[] = [];
    expect(await runVerifyBatch({ batchId: 1, file, rpc: f.chain.rpcUrl, out: (l) => out.push(l) })).to.equal(0);

    const cut = JSON.parse(readFileSync(file, 'utf8'));
    cut.events.splice(2, 1);
    writeFileSync(file, JSON.stringify(cut));
    out.length = 0;
    expect(await runVerifyBatch({ batchId: 1, file, rpc: f.chain.rpcUrl, out: (l) => out.push(l) })).to.equal(1);
    expect(out[out.length - 1]).to.equal('FAILED: event count (batch 1)');
  });

  it('seals a partial batch on time, but never one of bookkeeping events alone', async () => {
    let t = 0;
    const sealer = createSealer(f.store, { sealerKey: SEALER_KEY, maxEvents: 100, maxWaitMs: 1000, now: () => t });
    expect((await sealer.tick())).to.equal(undefined);
    t += 1000;
    const b = await sealer.tick();
    // The two leftover tasks (seq 10, 11) plus the BatchSealed/BatchAnchored of batches 0 and 1.
    expect(b).to.include({ batchId: 2, firstSeq: 10 });
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: f.chain.contractAddress, privateKey: f.chain.anchorerPrivateKey });
    await anchorer.tick();
    // Now only BatchSealed(2) and BatchAnchored(2) are new: time passes, nothing is sealed.
    expect(await sealer.tick()).to.equal(undefined);
    t += 60_000;
    expect(await sealer.tick()).to.equal(undefined);
    await submitTasks(f.store, 1);
    expect(await sealer.tick()).to.include({ batchId: 3 });
  });
});
