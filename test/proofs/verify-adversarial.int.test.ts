import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAddress, Wallet } from 'ethers';
import { runVerify } from '../../src/cli/verify';
import { runVerifyBatch } from '../../src/cli/verify-batch';
import { computeEventHash } from '../../src/core/envelope';
import type { Hex } from '../../src/core/hex';
import { createAnchorer } from '../../src/proofs/anchorer';
import { signBatchHead, ZERO_ROOT } from '../../src/proofs/batch-head';
import { buildProof, getBatchEvents, type BatchExport } from '../../src/proofs/batches';
import { buildTree, leafHash } from '../../src/proofs/merkle';
import type { ProofFile } from '../../src/proofs/proof-file';
import { createSealer } from '../../src/proofs/sealer';
import { verifyProofFile, type CheckResult } from '../../src/proofs/verify-proof';
import { auditAnchorAt, deployAuditAnchor } from '../../src/web3/audit-anchor';
import { createRpcProvider } from '../../src/web3/provider';
import { startCountingProxy } from '../support/counting-rpc-proxy';
import { openFixture, queries, SEALER_KEY, submitTasks, type Fixture } from './pipeline-fixture';
import { checkVectors, verify as independentVerify } from '../../examples/independent-verify';

const EXAMPLE = join(__dirname, '../../examples/independent-verify.ts');
const TSX = join(__dirname, '../../node_modules/tsx/dist/cli.mjs');

/** Hardhat's funded account #1: the forger, with a contract and a sealer key of their own. */
const FORGER_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

type Browser = { verifyProofInBrowser(p: unknown, o: { rpcUrl: string; contract?: string; signer?: string }): Promise<CheckResult[]> };

/**
 * Proof files that must not pass, checked against a real chain by all three verifiers: the CLI,
 * the server's library and the browser's (ui/app/verify), which must give the same verdicts.
 */
describe('proof files an auditor must not accept (CLI, server and browser verifiers, real chain)', function () {
  this.timeout(120_000);
  let f: Fixture;
  let good: ProofFile;
  let browser: Browser;
  let sealerAddress: string;
  let exports: BatchExport[];

  before(async () => {
    f = await openFixture();
    // The browser module is plain JS (ui/package.json: type module), loaded as the dashboard serves it.
    const load = (p: string) => import(p);
    browser = await load('../../ui/app/verify/verify-proof.js');
    const tasks = await submitTasks(f.store, 6);
    const sealer = createSealer(f.store, { sealerKey: SEALER_KEY, maxEvents: 3, maxWaitMs: 0 });
    await sealer.tick();
    await sealer.tick();
    const anchorer = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: f.chain.contractAddress, privateKey: f.chain.anchorerPrivateKey });
    await anchorer.tick();
    const q = queries(f.store, () => anchorer.anchorStream());
    good = await buildProof(q, tasks[1].id);
    sealerAddress = good.batch.signer;
    // A third batch, sealed but never anchored.
    await submitTasks(f.store, 3);
    await sealer.tick();
    exports = [await getBatchEvents(q, 0), await getBatchEvents(q, 1), await getBatchEvents(q, 2)];
    await anchorer.stop();
  });
  after(async () => f?.close());

  /** Batch `id`'s anchor as the gateway records it. */
  async function anchorOf(id: number): Promise<{ txHash: string; blockNumber: number }> {
    const events = await f.store.readAll({ limit: 10_000 });
    const e = events.find((x) => x.type === 'BatchAnchored' && (x.data as { batchId: number; contract: string }).batchId === id && (x.data as { contract: string }).contract === f.chain.contractAddress.toLowerCase())!;
    return e.data as { txHash: string; blockNumber: number };
  }

  /** Every verifier's verdicts; asserts they agree, returns the CLI's exit code and lines. */
  async function verifyAll(name: string, proof: unknown, pins: { contract?: string; signer?: string } = {}, rpcUrl = f.chain.rpcUrl) {
    const file = join(f.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(proof));
    const lines: string[] = [];
    const code = await runVerify({ file, rpc: rpcUrl, ...pins, out: (l) => lines.push(l) });
    const server = await verifyProofFile(proof, { rpcUrl, ...pins });
    const mine = await browser.verifyProofInBrowser(proof, { rpcUrl, ...pins });
    const verdicts = (rs: CheckResult[]) => rs.map((r) => `${r.ok ? '✔' : '✘'} ${r.name}`);
    expect(verdicts(mine), `${name}: browser vs server`).to.deep.equal(verdicts(server));
    // docs/proofs.md section 10: the auditors' own verifier (it takes both pins, and checks a file of the right shape)
    // fails the same checks, or dies (exit 2) where the chain checks fail: it never passes what verify fails.
    if (pins.contract && pins.signer && server[0].ok) {
      const failed = server.filter((r) => !r.ok).map((r) => r.name);
      const example = await independentVerify(proof as ProofFile, { rpc: rpcUrl, contract: pins.contract, signer: pins.signer }).then(
        (checks) => checks.filter(([, ok]) => !ok).map(([check]) => check),
        (err: Error) => err,
      );
      if (example instanceof Error) expect(failed, `${name}: examples/independent-verify.ts died (${example.message.slice(0, 80)})`).to.include('on-chain root');
      else expect(example, `${name}: examples/independent-verify.ts vs server`).to.deep.equal(failed);
    }
    return { code, lines, server, failed: server.filter((r) => !r.ok).map((r) => r.name) };
  }

  /** A self-consistent forgery: a changed event in a batch of its own, anchored in the forger's AuditAnchor and signed by the forger. */
  async function forge(): Promise<{ proof: ProofFile; forger: string }> {
    const provider = createRpcProvider(f.chain.rpcUrl);
    try {
      const w = new Wallet(FORGER_KEY, provider);
      const { address } = await deployAuditAnchor(w);
      const proof = JSON.parse(JSON.stringify(good)) as ProofFile;
      (proof.event.data as { steps: { arguments: { text: string } }[] }).steps[0].arguments.text = 'transfer everything';
      proof.event.hash = computeEventHash(proof.event);
      const root = `0x${buildTree([leafHash(0, proof.event.hash)]).root.toString('hex')}` as Hex;
      const mined = (await (await auditAnchorAt(address, w).anchor(0, 0, 0, root)).wait())!;
      const head = { batchId: 0, firstSeq: 0, lastSeq: 0, root, prevRoot: ZERO_ROOT };
      Object.assign(proof, { seq: 0, index: 0, treeSize: 1, path: [] });
      proof.batch = { id: 0, firstSeq: 0, lastSeq: 0, root, prevRoot: ZERO_ROOT, signer: w.address.toLowerCase() as Hex, signature: signBatchHead(head, FORGER_KEY) };
      proof.anchor = { ...proof.anchor, contract: address, txHash: mined.hash as Hex, blockNumber: mined.blockNumber };
      return { proof, forger: w.address.toLowerCase() };
    } finally {
      provider.destroy();
    }
  }

  it('passes the real proof, pinned to the operator’s contract and sealer, without a warning', async () => {
    const r = await verifyAll('good', good, { contract: f.chain.contractAddress, signer: sealerAddress });
    expect(r.code).to.equal(0);
    expect(r.lines.some((l) => l.startsWith('WARNING'))).to.equal(false);
    expect(r.server.find((x) => x.name === 'on-chain root')!.detail).to.match(new RegExp(`; anchored by transaction ${good.anchor.txHash} in block ${good.anchor.blockNumber}$`));
  });

  it('a file whose anchor names a transaction that did not anchor its batch (a transfer, another batch\'s anchor): fails on-chain root naming it, though the root is on chain (was: not checked)', async () => {
    const provider = createRpcProvider(f.chain.rpcUrl);
    let transfer: { hash: string; blockNumber: number };
    try {
      const w = new Wallet(FORGER_KEY, provider);
      transfer = (await (await w.sendTransaction({ to: w.address, value: 1n })).wait())!;
    } finally {
      provider.destroy();
    }
    const otherAnchor = await anchorOf(good.batch.id === 0 ? 1 : 0);
    for (const [name, txHash, blockNumber] of [['transfer', transfer.hash, transfer.blockNumber], ['other-batch', otherAnchor.txHash, otherAnchor.blockNumber]] as const) {
      const proof = { ...good, anchor: { ...good.anchor, txHash: txHash as Hex, blockNumber } };
      const r = await verifyAll(`false-tx-${name}`, proof, { contract: f.chain.contractAddress, signer: sealerAddress });
      expect(r.code, name).to.equal(1);
      expect(r.failed, name).to.deep.equal(['on-chain root']);
      expect(r.server.find((x) => x.name === 'on-chain root')!.detail, name).to.contain(
        `transaction ${txHash} in block ${blockNumber} anchored no batch ${good.batch.id} of this root on ${f.chain.contractAddress}: the file's account of its anchor is false`,
      );
      // docs/proofs.md section 10: the auditors' own verifier reads the transaction too, and agrees.
      const example = await independentVerify(proof, { rpc: f.chain.rpcUrl, contract: f.chain.contractAddress, signer: sealerAddress });
      expect(example.filter(([, ok]) => !ok).map(([check]) => check), `${name}: examples/independent-verify.ts`).to.deep.equal(['on-chain root']);
    }
  });

  it('a file whose anchor transaction the chain does not hold, holds in another block (a reorg) or holds reverted: passes, its root being on chain, with a WARNING naming it (was: not checked)', async () => {
    const missing = `0x${'5a'.repeat(32)}` as Hex;
    // A reverted anchor() on the operator's contract: the batch anchored already (as a lost anchor mined after its re-anchoring).
    const provider = createRpcProvider(f.chain.rpcUrl);
    let reverted: { hash: string; blockNumber: number };
    try {
      const w = new Wallet(f.chain.anchorerPrivateKey, provider);
      // Hardhat mines it and answers the send with the revert, naming the transaction.
      const hash = await auditAnchorAt(f.chain.contractAddress, w)
        .anchor(good.batch.id, good.batch.firstSeq, good.batch.lastSeq, good.batch.root, { gasLimit: 200_000 })
        .then((tx: { hash: string }) => tx.hash, (err: Error) => /"txHash": "(0x[0-9a-f]{64})"/.exec(err.message)![1]);
      const r = (await provider.getTransactionReceipt(hash))!;
      expect(r.status).to.equal(0);
      reverted = { hash: r.hash, blockNumber: r.blockNumber };
    } finally {
      provider.destroy();
    }
    const cases = [
      ['missing', { ...good.anchor, txHash: missing }, `transaction ${missing} is not on this chain`],
      ['reverted', { ...good.anchor, txHash: reverted.hash as Hex, blockNumber: reverted.blockNumber }, `transaction ${reverted.hash} reverted in block ${reverted.blockNumber}`],
      ['moved', { ...good.anchor, blockNumber: good.anchor.blockNumber + 1 }, `transaction ${good.anchor.txHash} anchored batch ${good.batch.id} in block ${good.anchor.blockNumber}, not in block ${good.anchor.blockNumber + 1} as the file says`],
    ] as const;
    for (const [name, anchor, warning] of cases) {
      const r = await verifyAll(`tx-${name}`, { ...good, anchor }, { contract: f.chain.contractAddress, signer: sealerAddress });
      expect(r.code, name).to.equal(0);
      expect(r.lines.filter((l) => l.startsWith('WARNING')), name).to.have.length(1);
      expect(r.lines.find((l) => l.startsWith('WARNING')), name).to.contain(warning);
      expect(r.server.find((x) => x.name === 'on-chain root')!.detail, name).to.contain(warning);
      const example = await independentVerify({ ...good, anchor }, { rpc: f.chain.rpcUrl, contract: f.chain.contractAddress, signer: sealerAddress });
      expect(example.filter(([, ok]) => !ok), `${name}: examples/independent-verify.ts`).to.deep.equal([]);
      expect(example.filter(([, , w]) => w !== undefined).map(([check, , w]) => `${check}: ${w}`), `${name}: examples/independent-verify.ts`).to.have.length(1).and.satisfy((ws: string[]) => ws[0].startsWith(`on-chain root: ${warning}`));
    }
  });

  it('a node whose receipts lack effectiveGasPrice and that refuses eth_getTransactionByHash for old transactions: the CLI reads the receipt as the browser does, so a false anchor transaction fails in both and the real one passes without a warning (was: ethers looked the transaction up, refused, and the CLI passed the false one with a WARNING while the browser failed it)', async () => {
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    proxy.edit('eth_getTransactionReceipt', (r) => (r && typeof r === 'object' ? Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'effectiveGasPrice' && k !== 'gasPrice')) : r));
    proxy.refuse(['eth_getTransactionByHash'], { code: -32000, message: 'historical transactions are not served' });
    const provider = createRpcProvider(f.chain.rpcUrl);
    try {
      const w = new Wallet(FORGER_KEY, provider);
      const transfer = (await (await w.sendTransaction({ to: w.address, value: 1n })).wait())!;
      const pins = { contract: f.chain.contractAddress, signer: sealerAddress };
      const falseTx = await verifyAll('old-node-false-tx', { ...good, anchor: { ...good.anchor, txHash: transfer.hash as Hex, blockNumber: transfer.blockNumber } }, pins, proxy.url);
      expect(falseTx.failed).to.deep.equal(['on-chain root']);
      expect(falseTx.code).to.equal(1);
      const real = await verifyAll('old-node-good', good, pins, proxy.url);
      expect(real.code).to.equal(0);
      expect(real.lines.filter((l) => l.startsWith('WARNING'))).to.deep.equal([]);
    } finally {
      provider.destroy();
      await proxy.close();
    }
  });

  it('an RPC with a key in its URL that refuses the receipt read (HTTP 403): the WARNING names the refusal with the key masked (was: ethers\' message, the URL and its key in full)', async () => {
    const proxy = await startCountingProxy(f.chain.rpcUrl);
    proxy.refuseHttp(['eth_getTransactionReceipt'], 403, 'forbidden');
    const key = '0123456789abcdef0123456789abcdef';
    try {
      const r = await verifyAll('receipt-refused', good, { contract: f.chain.contractAddress, signer: sealerAddress }, `${proxy.url}/v3/${key}`);
      expect(r.code).to.equal(0);
      const warning = r.lines.filter((l) => l.startsWith('WARNING'));
      expect(warning).to.have.length(1);
      expect(warning[0]).to.contain(`transaction ${good.anchor.txHash} could not be read`).and.contain('403').and.contain('/v3/***');
      expect(r.lines.join('\n') + JSON.stringify(r.server)).to.not.contain(key);
    } finally {
      await proxy.close();
    }
  });

  it('a forger’s own contract and key: fails once the contract or the sealer is pinned, and the unpinned pass is flagged', async () => {
    const { proof, forger } = await forge();
    const unpinned = await verifyAll('forged', proof);
    // Nothing in the file itself can tell: the verdict says where its trust came from.
    expect(unpinned.code).to.equal(0);
    expect(unpinned.lines.find((l) => l.startsWith('WARNING'))).to.match(/taken from the proof file.*--contract/);
    expect(unpinned.server.find((r) => r.name === 'on-chain root')!.detail).to.contain('not pinned');
    expect(unpinned.server.find((r) => r.name === 'batch signature')!.detail).to.contain('not pinned');

    const pinnedContract = await verifyAll('forged-contract', proof, { contract: f.chain.contractAddress });
    expect(pinnedContract.code).to.equal(1);
    expect(pinnedContract.failed).to.deep.equal(['on-chain root', 'on-chain inclusion']);
    expect(pinnedContract.server.find((r) => r.name === 'on-chain root')!.detail).to.match(
      new RegExp(
        `^the proof names AuditAnchor ${proof.anchor.contract}, not the one you pinned, ${f.chain.contractAddress}; ` +
          `${f.chain.contractAddress} batch 0 has root 0x[0-9a-f]{64} for seqs 0\\.\\.2, the proof says root ${proof.batch.root} for seqs 0\\.\\.0$`,
      ),
    );

    const pinnedSigner = await verifyAll('forged-signer', proof, { signer: sealerAddress });
    expect(pinnedSigner.code).to.equal(1);
    expect(pinnedSigner.failed).to.deep.equal(['batch signature']);
    expect(pinnedSigner.server.find((r) => r.name === 'batch signature')!.detail).to.equal(`signed by ${forger}, not by the sealer you pinned, ${sealerAddress}`);
  });

  it('a pinned address with no contract behind it: says so, not ethers\' "could not decode result data"', async () => {
    const nowhere = '0x00000000000000000000000000000000000000a1';
    const r = await verifyAll('no-contract', good, { contract: nowhere, signer: sealerAddress });
    expect(r.code).to.equal(1);
    expect(r.failed).to.deep.equal(['on-chain root', 'on-chain inclusion']);
    expect(r.server.find((x) => x.name === 'on-chain root')!.detail).to.equal(
      `the proof names AuditAnchor ${good.anchor.contract}, not the one you pinned, ${nowhere}; cannot read batch ${good.batch.id} from ${nowhere}: no contract at that address on chain 31337`,
    );
    const file = join(f.dir, 'export.json');
    writeFileSync(file, JSON.stringify({ events: [good.event] }));
    const lines: string[] = [];
    expect(await runVerifyBatch({ batchId: good.batch.id, file, rpc: f.chain.rpcUrl, contract: nowhere, out: (l) => lines.push(l) })).to.equal(1);
    expect(lines.join('\n')).to.contain(`from ${nowhere}: no contract at that address on chain 31337`);
    // The auditors' own verifier fails the same two checks, naming the address, exit 1 (was: died on ethers' "could not decode result data", exit 2).
    const example = spawnSync(process.execPath, [TSX, EXAMPLE, join(f.dir, 'no-contract.json'), '--rpc', f.chain.rpcUrl, '--contract', nowhere, '--signer', sealerAddress], { encoding: 'utf8' });
    expect(example.status, example.stderr).to.equal(1);
    expect(example.stderr).to.equal('');
    const missing = `no contract at ${nowhere} on chain 31337`;
    expect(example.stdout.trim().split('\n')).to.deep.equal(['✔ event hash', '✔ leaf', '✔ root from path', '✔ batch signature', `✘ on-chain root: ${missing}`, `✘ on-chain inclusion: ${missing}`]);
  });

  it('a file naming another contract than the one pinned: fails on-chain root naming both, though the pinned one holds the root', async () => {
    // The pinned contract is read, so the roots agree; the file's own claim about its anchor is false all the same.
    for (const [name, named] of [['other-contract', '0x00000000000000000000000000000000000000b2'], ['eoa-contract', sealerAddress]] as const) {
      const proof = JSON.parse(JSON.stringify(good)) as ProofFile;
      proof.anchor.contract = named as Hex;
      const r = await verifyAll(name, proof, { contract: f.chain.contractAddress, signer: sealerAddress });
      expect([r.code, r.failed], name).to.deep.equal([1, ['on-chain root']]);
      expect(r.server.find((x) => x.name === 'on-chain root')!.detail, name).to.equal(
        `the proof names AuditAnchor ${named}, not the one you pinned, ${f.chain.contractAddress}; ${f.chain.contractAddress} batch ${good.batch.id} = ${good.batch.root}`,
      );
      expect(r.lines.at(-1), name).to.match(/^FAILED: on-chain root/);
      // docs/proofs.md section 10: the auditors' own verifier prints §7's checks from 2 on, check 6's contract comparison included.
      const example = await independentVerify(proof, { rpc: f.chain.rpcUrl, contract: f.chain.contractAddress, signer: sealerAddress });
      expect(example.filter(([, ok]) => !ok).map(([check]) => check), `${name}: examples/independent-verify.ts`).to.deep.equal(['on-chain root']);
    }
    // The same address in another letter case is the same contract.
    const upper = await verifyAll('contract-case', good, { contract: `0x${f.chain.contractAddress.slice(2).toUpperCase()}`, signer: sealerAddress });
    expect(upper.code).to.equal(0);
    // So it is to the auditors' own verifier: the address pinned as published (checksummed, or in capitals) and the
    // file's (lower case, as the anchorer records it) are one contract, and a valid proof passes every check.
    for (const contract of [getAddress(f.chain.contractAddress), `0x${f.chain.contractAddress.slice(2).toUpperCase()}`]) {
      expect(contract, 'another spelling than the file\'s').to.not.equal(good.anchor.contract);
      const example = await independentVerify(good, { rpc: f.chain.rpcUrl, contract, signer: getAddress(sealerAddress) });
      expect(example.filter(([, ok, warning]) => !ok || warning !== undefined), `${contract}: examples/independent-verify.ts`).to.deep.equal([]);
    }
  });

  it('a malformed pinned address: exit 2 naming the option, before any check (not an ENS lookup or a wrong-sealer verdict)', async () => {
    const file = join(f.dir, 'good.json');
    writeFileSync(file, JSON.stringify(good));
    for (const [pins, option] of [[{ signer: 'nothex' }, '--signer nothex'], [{ contract: '0x1234' }, '--contract (or ANCHOR_CONTRACT) 0x1234']] as const) {
      const lines: string[] = [];
      expect(await runVerify({ file, rpc: f.chain.rpcUrl, ...pins, out: (l) => lines.push(l) }), option).to.equal(2);
      expect(lines, option).to.deep.equal([`FAILED: ${option} is not an address (0x and 40 hex digits)`]);
    }
    const lines: string[] = [];
    expect(await runVerifyBatch({ batchId: 0, file, rpc: f.chain.rpcUrl, contract: 'nothex', out: (l) => lines.push(l) })).to.equal(2);
    expect(lines).to.deep.equal(['FAILED: --contract (or ANCHOR_CONTRACT) nothex is not an address (0x and 40 hex digits)']);
    lines.length = 0;
    expect(await runVerifyBatch({ batchId: 0, file, rpc: f.chain.rpcUrl, signer: 'nothex', out: (l) => lines.push(l) })).to.equal(2);
    expect(lines).to.deep.equal(['FAILED: --signer nothex is not an address (0x and 40 hex digits)']);
  });

  it('a batch sealed but not anchored: names it and what the contract holds', async () => {
    const proof = JSON.parse(JSON.stringify(good)) as ProofFile;
    proof.batch.id = 2;
    const r = await verifyAll('unanchored', proof, { contract: f.chain.contractAddress });
    expect(r.failed).to.include('on-chain root');
    expect(r.server.find((x) => x.name === 'on-chain root')!.detail).to.equal(`batch 2 is not anchored on ${f.chain.contractAddress}: it holds batches 0..1`);
  });

  it('an event moved to another batch, a wrong index or size, another chain id: each fails, and all three agree', async () => {
    const cases: [string, (p: ProofFile) => void, string][] = [
      ['other-batch', (p) => ((p.batch = { ...p.batch, id: 1, firstSeq: 3, lastSeq: 5 }), (p.seq = 4)), 'root from path'],
      ['index', (p) => ((p.index = 2), (p.seq = 2)), 'root from path'],
      ['size', (p) => (p.treeSize = 4), 'leaf'],
      ['chain-id', (p) => (p.anchor.chainId = 1), 'on-chain root'],
      ['revision-only', (p) => (p.event.revision = 9), ''],
    ];
    for (const [name, tamper, first] of cases) {
      const proof = JSON.parse(JSON.stringify(good)) as ProofFile;
      tamper(proof);
      const r = await verifyAll(name, proof, { contract: f.chain.contractAddress, signer: sealerAddress });
      // revision and position are not hashed (DESIGN.md): the proof says nothing about them.
      if (!first) expect(r.code, name).to.equal(0);
      else expect([r.code, r.failed[0]], name).to.deep.equal([1, first]);
    }
  });

  /** `openmcp verify-batch <id>` of an export, as the auditor saved it; the CLI's exit code and lines. */
  async function verifyBatch(name: string, id: number, exported: unknown, pins: { signer?: string } = {}) {
    const file = join(f.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(exported));
    const lines: string[] = [];
    const code = await runVerifyBatch({ batchId: id, file, rpc: f.chain.rpcUrl, contract: f.chain.contractAddress, ...pins, out: (l) => lines.push(l) });
    return { code, lines };
  }

  it('verify-batch: another chain, another batch\'s export or a batch not anchored yet is named as such, not as a root that differs', async () => {
    expect((await verifyBatch('export-0', 0, exports[0])).code).to.equal(0);

    // The auditor's RPC serves another chain than the export's batch was anchored on (was: "events give …, chain has …").
    const elsewhere = JSON.parse(JSON.stringify(exports[0])) as BatchExport;
    elsewhere.batch.anchor!.chainId = 1;
    const chain = await verifyBatch('export-chain', 0, elsewhere);
    expect(chain.code).to.equal(1);
    expect(chain.lines).to.include(`✘ root: RPC serves chain 31337, the export's batch was anchored on chain 1`);

    // The export of batch 1 checked as batch 0 (was: "event count" passed and the roots differed).
    const other = await verifyBatch('export-1-as-0', 0, exports[1]);
    expect(other.code).to.equal(2);
    expect(other.lines).to.deep.equal(['FAILED: the export is of batch 1, not batch 0: pass its id, or export batch 0']);

    // Sealed, not anchored (was: "execution reverted: AuditAnchorUnknownBatch(uint64)").
    const pending = await verifyBatch('export-2', 2, { events: exports[2].events });
    expect(pending.code).to.equal(1);
    expect(pending.lines).to.include(`✘ root: batch 2 is not anchored on ${f.chain.contractAddress}: it holds batches 0..1`);
  });

  it('verify-batch: an export whose head names another contract than the pinned one, or another root than the chain holds, fails root naming it', async () => {
    const root = exports[0].batch.root;
    const otherContract = JSON.parse(JSON.stringify(exports[0])) as BatchExport;
    otherContract.batch.anchor!.contract = '0x00000000000000000000000000000000000000b2' as Hex;
    const c = await verifyBatch('export-other-contract', 0, otherContract);
    expect(c.code).to.equal(1);
    expect(c.lines).to.include(`✘ root: the export names AuditAnchor 0x00000000000000000000000000000000000000b2, not the one you pinned, ${f.chain.contractAddress}; the events give the chain's root ${root}`);

    const otherRoot = JSON.parse(JSON.stringify(exports[0])) as BatchExport;
    otherRoot.batch.root = `0x${'11'.repeat(32)}` as Hex;
    const r = await verifyBatch('export-other-root', 0, otherRoot);
    expect(r.code).to.equal(1);
    expect(r.lines).to.include(`✘ root: the export's batch head says root 0x${'11'.repeat(32)}, the chain has ${root}; the events give the chain's root ${root}`);

    // A bare array of events brings no head: its root agrees with the chain, but no sealer signed it.
    const bare = await verifyBatch('export-bare', 0, exports[0].events);
    expect(bare.code).to.equal(1);
    expect(bare.lines).to.include(`✔ root: ${root}`);
    expect(bare.lines).to.include('✘ batch signature: not checked: the export has no batch head (its "batch"); verify the whole answer of GET /v1/batches/:id/events, not its events alone');
  });

  it('verify-batch checks the batch head\'s signature as verify does: pinned sealer, another sealer, a tampered or missing signature, unpinned', async () => {
    const other = '0x00000000000000000000000000000000000000c3';
    const pinned = await verifyBatch('export-signer', 0, exports[0], { signer: sealerAddress });
    expect(pinned.code, pinned.lines.join('\n')).to.equal(0);
    expect(pinned.lines).to.include(`✔ batch signature: signed by ${sealerAddress} (the sealer you pinned)`);
    expect(pinned.lines.some((l) => l.startsWith('WARNING'))).to.equal(false);

    const wrong = await verifyBatch('export-wrong-signer', 0, exports[0], { signer: other });
    expect(wrong.code).to.equal(1);
    expect(wrong.lines).to.include(`✘ batch signature: signed by ${sealerAddress}, not by the sealer you pinned, ${other}`);
    expect(wrong.lines.at(-1)).to.equal('FAILED: batch signature (batch 0)');

    // One bit of r flipped: it recovers some other address.
    const flipped = JSON.parse(JSON.stringify(exports[0])) as BatchExport;
    const sig = flipped.batch.signature;
    flipped.batch.signature = `${sig.slice(0, 10)}${(parseInt(sig[10], 16) ^ 1).toString(16)}${sig.slice(11)}` as Hex;
    const tampered = await verifyBatch('export-tampered-sig', 0, flipped, { signer: sealerAddress });
    expect(tampered.code).to.equal(1);
    expect(tampered.lines.find((l) => l.startsWith('✘ batch signature'))).to.match(new RegExp(`^✘ batch signature: recovers (0x[0-9a-f]{40}|nothing), file names ${sealerAddress}$`));

    // The sealer's own signature, but over another head (batch 1's): not this head's.
    const borrowed = JSON.parse(JSON.stringify(exports[0])) as BatchExport;
    borrowed.batch.signature = exports[1].batch.signature;
    const over = await verifyBatch('export-other-head', 0, borrowed, { signer: sealerAddress });
    expect(over.code).to.equal(1);
    expect(over.lines.find((l) => l.startsWith('✘ batch signature'))).to.match(new RegExp(`^✘ batch signature: recovers 0x[0-9a-f]{40}, file names ${sealerAddress}$`));

    // No signature at all.
    const missing = JSON.parse(JSON.stringify(exports[0])) as BatchExport;
    delete (missing.batch as Partial<BatchExport['batch']>).signature;
    const none = await verifyBatch('export-no-sig', 0, missing, { signer: sealerAddress });
    expect(none.code).to.equal(1);
    expect(none.lines).to.include('✘ batch signature: the signature is not 65 bytes of 0x lowercase hex (r ‖ s ‖ v)');

    // Not pinned: it passes, and says where its trust came from, as verify does.
    const unpinned = await verifyBatch('export-unpinned', 0, exports[0]);
    expect(unpinned.code).to.equal(0);
    expect(unpinned.lines.find((l) => l.startsWith('✔ batch signature'))).to.equal(
      `✔ batch signature: signed by ${sealerAddress} (named by the export, not pinned: pass --signer <the operator's sealer address>)`,
    );
  });

  it('a key written twice in one object: refused (exit 2) naming it, though the last copies are the real ones and JSON.parse keeps those', async () => {
    // JSON.parse (and jq, Python, Go) keep the last copy, other readers the first or either: a file that
    // passes must not show one reader an event the checks never saw. (Was: exit 0, "OK".)
    const text = JSON.stringify(good);
    const forged = text.replace(`"data":{`, `"data":{"steps":[{"tool":"wallet__transfer","arguments":{"to":"mallory"}}],`);
    expect(forged).to.not.equal(text);
    expect(JSON.parse(forged)).to.deep.equal(good);
    const file = join(f.dir, 'twice.json');
    writeFileSync(file, forged);
    const lines: string[] = [];
    const code = await runVerify({ file, rpc: f.chain.rpcUrl, contract: f.chain.contractAddress, signer: sealerAddress, out: (l) => lines.push(l) });
    expect(code).to.equal(2);
    const at = forged.indexOf('"steps"', forged.indexOf('"steps"') + 1) + 1;
    expect(lines).to.deep.equal([
      `FAILED: ${file} names "steps" twice in one object (the second at line 1, column ${at}): JSON readers differ on which one counts, so it is not a proof of one event; get the file again`,
    ]);

    // The same in a batch export's head: a second "root" after the real one.
    const exported = JSON.stringify(exports[0]).replace('"root":', `"root":"0x${'ab'.repeat(32)}","root":`);
    const batchFile = join(f.dir, 'export-twice.json');
    writeFileSync(batchFile, exported);
    const batchLines: string[] = [];
    const batchCode = await runVerifyBatch({ batchId: 0, file: batchFile, rpc: f.chain.rpcUrl, contract: f.chain.contractAddress, out: (l) => batchLines.push(l) });
    expect(batchCode).to.equal(2);
    expect(batchLines).to.have.length(1);
    expect(batchLines[0]).to.match(/^FAILED: .*export-twice\.json names "root" twice in one object \(the second at line 1, column \d+\): JSON readers differ on which one counts, so it is not an export of one batch; get the file again$/);
  });

  // docs/proofs.md section 10: the spec alone is enough to write a verifier that agrees.
  it('a verifier written from docs/proofs.md alone (examples/independent-verify.ts, ethers + canonicalize only) matches every vector and agrees on real and forged proofs', async () => {
    expect(checkVectors(join(__dirname, '..', 'vectors'))).to.deep.equal({ matched: 49, total: 49 });
    const pins = { rpc: f.chain.rpcUrl, contract: f.chain.contractAddress, signer: sealerAddress };
    expect((await independentVerify(good, pins)).filter(([, ok, warning]) => !ok || warning !== undefined)).to.deep.equal([]);
    const tampered = JSON.parse(JSON.stringify(good)) as ProofFile;
    (tampered.event.data as { steps: { arguments: { text: string } }[] }).steps[0].arguments.text = 'transfer everything';
    expect((await independentVerify(tampered, pins)).filter(([, ok]) => !ok).map(([name]) => name)).to.deep.equal(['event hash']);
    const { proof } = await forge();
    expect((await independentVerify(proof, pins)).filter(([, ok]) => !ok).map(([name]) => name)).to.deep.equal(['batch signature', 'on-chain root', 'on-chain inclusion']);
  });
});
