import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet, encryptKeystoreJsonSync } from 'ethers';
import { ChainRegistry } from '../../src/web3/chain-registry';
import { parseChains, loadChainsFile } from '../../src/web3/chains-file';
import { prepareProposal, readContract, signAndSend, waitForTransaction, type SignedTransaction } from '../../src/web3/contract-calls';
import { NonceManager, type NonceLock } from '../../src/web3/nonce-manager';
import { startRemoteSigner, type RemoteSignerServer } from '../support/remote-signer/remote-signer-server';
import { startCountingProxy } from '../support/counting-rpc-proxy';
import { FlakyCache } from '../support/flaky-cache';
import { MemoryCache } from '../../src/cache/memory';
import { RemoteSigner } from '../../src/web3/wallets/remote-signer';
import { AGENT_WALLET, OTHER_KEY, startChainFixture, type ChainFixture } from '../agent/support/agent-fixture';

const TO = '0x000000000000000000000000000000000000cafe';

describe('web3: wallets, nonce manager and contract calls on Hardhat', function () {
  this.timeout(60_000);
  let fx: ChainFixture;
  let signer: RemoteSignerServer;

  before(async () => {
    fx = await startChainFixture();
    signer = await startRemoteSigner(OTHER_KEY);
  });
  after(async () => {
    await signer?.close();
    await fx?.close();
  });

  const chainDoc = (wallet: unknown) => ({ chains: [{ chainId: fx.chain.chainId, rpcUrl: fx.chain.rpcUrl, wallet, contracts: [{ name: 'DemoToken', address: fx.token, abi: fx.tokenAbi }] }] });

  it('reads a contract and normalizes the result; proposals are canonical whatever the input form', async () => {
    const reg = await fx.registry();
    try {
      const r = await readContract(reg, { chainId: fx.chain.chainId, contract: 'demotoken', method: 'balanceOf', args: [AGENT_WALLET.toUpperCase().replace('0X', '0x')] });
      expect(r.to).to.equal(fx.token);
      expect(r.result[0]).to.match(/^\d+$/);
      const a = await prepareProposal(reg, { chainId: fx.chain.chainId, contract: fx.token, method: 'transfer', args: [TO.toUpperCase().replace('0X', '0x'), 7] });
      const b = await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer(address,uint256)', args: [TO, '7'] });
      expect(a).to.deep.equal(b);
      expect(a.args).to.deep.equal([TO, '7']);
      await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '1.5'] }).then(
        () => expect.fail('float accepted'),
        (e) => expect(e.code).to.equal('CONTRACT_CALL_FAILED'),
      );
      await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '99999999999'] }).then(
        () => expect.fail('revert not detected'),
        (e) => expect(e.message).to.match(/would revert/),
      );
    } finally {
      reg.close();
    }
  });

  it('a contract CHAINS_FILE names at an address without code (a local chain restarted empty): read and send refused, saying so', async () => {
    // Before: the read failed with ethers' "could not decode result data (value=\"0x\")", and the
    // transfer was estimated, signed and mined as a plain call to an empty account: "success", no token moved.
    const EMPTY = '0x00000000000000000000000000000000000e3b70';
    const reg = await fx.registry([{ name: 'Gone', address: EMPTY, abi: fx.tokenAbi }]);
    try {
      const said = /Gone \(0x00000000000000000000000000000000000e3b70\) has no contract code on chain \d+: .*deploy/;
      const read = await readContract(reg, { chainId: fx.chain.chainId, contract: 'Gone', method: 'balanceOf', args: [TO] }).catch((e) => e);
      expect(read.code).to.equal('CONTRACT_CALL_FAILED');
      expect(read.message).to.match(said);
      const sent = await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'Gone', method: 'transfer', args: [TO, '7'] }).catch((e) => e);
      expect(sent.code).to.equal('CONTRACT_CALL_FAILED');
      expect(sent.message).to.match(said);
      const given = await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'Gone', method: 'transfer', args: [TO, '7'], gasLimit: 100000 }).catch((e) => e);
      expect(given.message, 'a given gas limit skips the estimate, not the check').to.match(said);
    } finally {
      reg.close();
    }
  });

  it('gives concurrent transactions of one sender distinct, gap-free nonces', async () => {
    const reg = await fx.registry();
    const nonces = new NonceManager();
    try {
      const start = await fx.nonceOf(AGENT_WALLET);
      const before = await fx.balanceOf(TO);
      const recorded: SignedTransaction[] = [];
      const proposals = await Promise.all(Array.from({ length: 8 }, () => prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '1'] })));
      const sent = await Promise.all(proposals.map((p) => signAndSend(reg, nonces, p, async (tx) => void recorded.push(tx))));
      expect(sent.map((s) => s.nonce).sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 8 }, (_, i) => start + i));
      expect(recorded).to.have.length(8);
      const receipts = await Promise.all(sent.map((s) => waitForTransaction(reg, s)));
      expect(receipts.every((r) => r.status === 'success')).to.equal(true);
      expect(await fx.balanceOf(TO)).to.equal(before + 8n);
    } finally {
      reg.close();
    }
  });

  it('re-broadcasts a recorded transaction the node never received, with the same hash', async () => {
    const reg = await fx.registry();
    try {
      const p = await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '2'] });
      // Sign with a nonce manager but "crash" before broadcasting: onSigned throws after recording.
      let kept: SignedTransaction | undefined;
      await signAndSend(reg, new NonceManager(), p, async (tx) => {
        kept = tx;
        throw new Error('crash after recording');
      }).catch(() => {});
      expect(kept).to.exist;
      const r = await waitForTransaction(reg, kept!);
      expect(r.txHash).to.equal(kept!.txHash);
      expect(r.status).to.equal('success');
    } finally {
      reg.close();
    }
  });

  it('signs through a remote JSON-RPC signer (eth_signTransaction), Web3Signer and Clef answers', async () => {
    for (const clefStyle of [false, true]) {
      const remote = clefStyle ? await startRemoteSigner(OTHER_KEY, { clefStyle: true }) : signer;
      const reg = await ChainRegistry.open(parseChains(chainDoc({ type: 'remote', url: remote.url, address: remote.address }), fx.dir));
      try {
        // Fund the remote account with tokens from the agent wallet first.
        const agentReg = await fx.registry();
        const fund = await prepareProposal(agentReg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [remote.address, '10'] });
        await waitForTransaction(agentReg, await signAndSend(agentReg, new NonceManager(), fund, async () => {}));
        agentReg.close();
        const p = await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '3'] });
        const tx = await signAndSend(reg, new NonceManager(), p, async () => {});
        expect(tx.from).to.equal(remote.address);
        expect((await waitForTransaction(reg, tx)).status).to.equal('success');
        expect(remote.calls).to.include('eth_signTransaction');
      } finally {
        reg.close();
        if (clefStyle) await remote.close();
      }
    }
  });

  it('opens an encrypted JSON keystore with the password from the named variable, and refuses a wrong one', async () => {
    const w = new Wallet(OTHER_KEY);
    const json = encryptKeystoreJsonSync({ address: w.address, privateKey: w.privateKey }, 'hunter2', { scrypt: { N: 1 << 10 } });
    const path = join(fx.dir, 'keystore.json');
    writeFileSync(path, json);
    const reg = await ChainRegistry.open(parseChains(chainDoc({ type: 'keystore', path, passwordEnv: 'TEST_KS_PW' }), fx.dir), { TEST_KS_PW: 'hunter2' });
    try {
      expect((await reg.get(fx.chain.chainId).signer!.getAddress()).toLowerCase()).to.equal(w.address.toLowerCase());
    } finally {
      reg.close();
    }
    const err = await ChainRegistry.open(parseChains(chainDoc({ type: 'keystore', path, passwordEnv: 'TEST_KS_PW' }), fx.dir), { TEST_KS_PW: 'wrong' }).catch((e) => e);
    expect(err.code).to.equal('CONFIG_INVALID');
    expect(err.message).to.contain('TEST_KS_PW');
  });

  it('validates CHAINS_FILE naming the field, and reads ABIs from artifact files', () => {
    expect(() => parseChains({ chains: [{ chainId: 1, rpcUrl: 'nope' }] }, fx.dir)).to.throw(/chains\.0\.rpcUrl/);
    const artifact = join(fx.dir, 'token.json');
    writeFileSync(artifact, JSON.stringify({ abi: fx.tokenAbi }));
    const file = join(fx.dir, 'chains.json');
    writeFileSync(file, JSON.stringify({ chains: [{ chainId: 5, rpcUrl: 'http://127.0.0.1:1', contracts: [{ name: 'T', address: fx.token, abiFile: 'token.json' }] }] }));
    const [c] = loadChainsFile(file);
    expect(c.contracts[0].abi).to.deep.equal(fx.tokenAbi);
  });

  it('a nonce another sender already used: refused at once as never sendable; awaiting the recorded bytes ends at the deadline saying the nonce is taken', async () => {
    const reg = await fx.registry();
    try {
      const used = (await fx.nonceOf(AGENT_WALLET)) - 1; // the fixture's deployment and earlier tests used it
      expect(used).to.be.at.least(0);
      /** A manager whose count is behind the chain, as after another process sent with this wallet unseen. */
      class StaleNonces extends NonceManager {
        override withNonce<T>(_p: unknown, _c: number, _f: string, fn: (nonce: number, lock: NonceLock) => Promise<T>): Promise<T> {
          return fn(used, { check: async () => {}, used: async () => {} });
        }
      }
      const p = await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '3'] });
      let recorded: SignedTransaction | undefined;
      const err = await signAndSend(reg, new StaleNonces(), p, async (tx) => void (recorded = tx)).then(() => undefined, (e: { code?: string; message: string }) => e);
      expect(err?.code, err?.message).to.equal('TX_REJECTED');
      expect(err?.message).to.match(/nonce/i);
      // Awaited as recorded (its first broadcast may have gone out through another node), it is
      // looked for until the deadline: not found, it fails saying the nonce was taken.
      const waited = await waitForTransaction(reg, recorded!, { timeoutMs: 1_000 }).then(() => undefined, (e: { code?: string; message: string }) => e);
      expect(waited?.code, waited?.message).to.equal('TX_FAILED');
      expect(waited?.message).to.match(/nonce .*taken/).and.include('not found');
    } finally {
      reg.close();
    }
  });

  /** Resolves once the remote signer is asked to sign again (the sender holds its nonce lock then). */
  async function signingAsked(): Promise<void> {
    const asked = () => signer.calls.filter((m) => m === 'eth_signTransaction').length;
    const before = asked();
    for (const end = Date.now() + 10_000; asked() === before; ) {
      if (Date.now() > end) throw new Error('the remote signer was not asked to sign within 10 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Tokens for the remote signer's account (OTHER_KEY), sent from the agent wallet. */
  async function fundRemote(amount: string): Promise<void> {
    const agentReg = await fx.registry();
    try {
      const fund = await prepareProposal(agentReg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [signer.address, amount] });
      await waitForTransaction(agentReg, await signAndSend(agentReg, new NonceManager(), fund, async () => {}));
    } finally {
      agentReg.close();
    }
  }

  it('a signer slower than the nonce lock TTL keeps the lock (renewed): another replica with the wallet waits and takes the next nonce', async () => {
    await fundRemote('10');
    const slow = await ChainRegistry.open(parseChains(chainDoc({ type: 'remote', url: signer.url, address: signer.address }), fx.dir));
    const fast = await ChainRegistry.open(parseChains(chainDoc({ type: 'key', privateKey: OTHER_KEY }), fx.dir));
    const cache = new MemoryCache(); // shared by both replicas, as Redis is
    // A human confirming in Clef, for 1.5 TTLs (past one, the lock holds only by its renewals). A
    // TTL of 1 s: a renewal (every TTL/3) may come late by 666 ms, as on a loaded machine, without
    // the lock lapsing (300 ms left only 200 ms).
    signer.setDelay(1_500);
    try {
      const start = await fx.nonceOf(signer.address);
      const pa = await prepareProposal(slow, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '1'] });
      const pb = await prepareProposal(fast, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '2'] });
      const signing = signingAsked();
      const a = signAndSend(slow, new NonceManager(cache, { lockTtlMs: 1_000 }), pa, async () => {});
      await signing; // A holds the lock and waits for its signer (not a fixed pause: A may be slower to get there)
      const b = signAndSend(fast, new NonceManager(cache, { lockTtlMs: 1_000 }), pb, async () => {});
      const [ta, tb] = await Promise.all([a, b]);
      expect([ta.nonce, tb.nonce], 'A first, B after it').to.deep.equal([start, start + 1]);
      expect((await waitForTransaction(fast, ta)).status).to.equal('success');
      expect((await waitForTransaction(fast, tb)).status).to.equal('success');
    } finally {
      signer.setDelay(0);
      slow.close();
      fast.close();
    }
  });

  it('a nonce lock lost while signing (cut off from the cache past its TTL, taken by another replica): NONCE_LOCK_LOST, nothing recorded or sent', async () => {
    const reg = await ChainRegistry.open(parseChains(chainDoc({ type: 'remote', url: signer.url, address: signer.address }), fx.dir));
    const shared = new MemoryCache();
    const mine = new FlakyCache(shared); // this replica's link to the shared cache
    const key = `web3:nonce-lock:${fx.chain.chainId}:${signer.address}`;
    signer.setDelay(700);
    try {
      const start = await fx.nonceOf(signer.address);
      const p = await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '1'] });
      let recorded = 0;
      const signing = signingAsked();
      const sending = signAndSend(reg, new NonceManager(mine, { lockTtlMs: 300 }), p, async () => void recorded++).then(() => undefined, (e: { code?: string; message: string }) => e);
      await signing; // it holds the lock, and signs
      mine.fail('acquireLock', /nonce-lock/, 1_000); // renewals fail from now on
      await new Promise((r) => setTimeout(r, 350));
      expect(await shared.acquireLock(key, 'replica-b', 5_000), 'lapsed: replica B takes it').to.equal(true);
      const err = await sending;
      expect(err?.code, err?.message).to.equal('NONCE_LOCK_LOST');
      expect(err?.message).to.include('not sent');
      expect(recorded, 'not recorded').to.equal(0);
      expect(await fx.nonceOf(signer.address), 'nothing sent').to.equal(start);
      expect(await fx.rpc('eth_getTransactionCount', [signer.address, 'pending'])).to.equal(`0x${start.toString(16)}`);
    } finally {
      signer.setDelay(0);
      reg.close();
    }
  });

  it('the next nonce is written once the transaction is recorded, before its broadcast answers', async () => {
    const proxy = await startCountingProxy(fx.chain.rpcUrl, { delayMs: { eth_sendRawTransaction: 600 } });
    const reg = await ChainRegistry.open(parseChains({ chains: [{ chainId: fx.chain.chainId, rpcUrl: proxy.url, wallet: { type: 'key', privateKey: OTHER_KEY }, contracts: [{ name: 'DemoToken', address: fx.token, abi: fx.tokenAbi }] }] }, fx.dir));
    const cache = new MemoryCache();
    try {
      const p = await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '1'] });
      let nonce = -1;
      const sending = signAndSend(reg, new NonceManager(cache), p, async (tx) => void (nonce = tx.nonce));
      const next = `web3:nonce-next:${fx.chain.chainId}:${signer.address}`;
      while (proxy.count('eth_sendRawTransaction') === 0) await new Promise((r) => setTimeout(r, 10));
      expect(await cache.get(next), 'written while the broadcast is in flight').to.equal(String(nonce + 1));
      await waitForTransaction(reg, await sending);
    } finally {
      reg.close();
      await proxy.close();
    }
  });

  it('sends queued in one process wait at most waitMs in all: NONCE_LOCK_BUSY, nothing signed', async () => {
    const reg = await fx.registry();
    const nonces = new NonceManager(new MemoryCache(), { waitMs: 200 });
    try {
      const chain = reg.get(fx.chain.chainId);
      let release!: () => void;
      const first = nonces.withNonce(chain.provider, chain.chainId, AGENT_WALLET, () => new Promise<void>((r) => (release = r)));
      let ran = false;
      const t0 = Date.now();
      const err = await nonces.withNonce(chain.provider, chain.chainId, AGENT_WALLET, async () => void (ran = true)).then(() => undefined, (e: { code?: string; message: string }) => e);
      const waited = Date.now() - t0;
      release();
      await first;
      expect(err?.code, err?.message).to.equal('NONCE_LOCK_BUSY');
      expect(err?.message).to.include('nothing was signed');
      expect(ran).to.equal(false);
      expect(waited, 'gave up at about waitMs, not when the first send ended').to.be.below(5_000);
    } finally {
      reg.close();
    }
  });

  it('a remote signer that does not answer in time: SIGNER_FAILED naming the wait, nothing sent', async () => {
    signer.setDelay(2_000);
    const reg = await fx.registry();
    const provider = reg.get(fx.chain.chainId).provider;
    try {
      const remote = new RemoteSigner(signer.url, signer.address, provider, { timeoutMs: 200 });
      expect(remote.connect(provider).timeoutMs).to.equal(200);
      const err = await remote
        .signTransaction({ chainId: fx.chain.chainId, nonce: 0, to: TO, data: '0x', value: 0n, gasLimit: 21_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 0n })
        .then(() => undefined, (e: { code?: string; message: string }) => e);
      expect(err?.code).to.equal('SIGNER_FAILED');
      expect(err?.message).to.match(/did not answer eth_signTransaction within 200 ms/).and.include('not sent');
      expect(new RemoteSigner(signer.url, signer.address).timeoutMs, 'default below the nonce lock TTL (60 s)').to.be.below(60_000);
    } finally {
      signer.setDelay(0);
      reg.close();
    }
  });

  it('a mined transaction a lagging node does not show: the resend answers "nonce too low", and it is still found and confirmed', async () => {
    const reg = await fx.registry();
    const proxy = await startCountingProxy(fx.chain.rpcUrl, { nullFirst: { eth_getTransactionByHash: 1 } });
    const lagging = await ChainRegistry.open(parseChains({ chains: [{ chainId: fx.chain.chainId, rpcUrl: proxy.url, contracts: [] }] }, fx.dir));
    try {
      const p = await prepareProposal(reg, { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [TO, '1'] });
      const tx = await signAndSend(reg, new NonceManager(), p, async () => {});
      await waitForTransaction(reg, tx); // mined
      const r = await waitForTransaction(lagging, tx, { timeoutMs: 10_000 });
      expect(proxy.count('eth_sendRawTransaction'), 'sent again (the node seemed not to know it) and refused: nonce too low').to.equal(1);
      expect(r.txHash).to.equal(tx.txHash);
      expect(r.status).to.equal('success');
    } finally {
      lagging.close();
      reg.close();
      await proxy.close();
    }
  });
});
