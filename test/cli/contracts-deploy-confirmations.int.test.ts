import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contractsDeploy } from '../../src/cli/contracts-deploy';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { createRpcProvider } from '../../src/web3/provider';
import { startCountingProxy } from '../support/counting-rpc-proxy';

/**
 * `contracts deploy --confirmations N` waits on the chain after the deployment is mined: whatever
 * the chain or the RPC does meanwhile, it says so (never on stdout with the RPC URL's credentials)
 * and never waits silently for ever. This file reverts chain snapshots: its own chain.
 */
describe('openmcp contracts deploy --confirmations: the wait', function () {
  this.timeout(60_000);
  let dir: string;
  let chain: LocalChain;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openmcp-deploy-wait-'));
    chain = await startLocalChain({ port: 0, dataDir: dir });
  });
  after(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function until(check: () => boolean | Promise<boolean>): Promise<void> {
    while (!(await check())) await new Promise((r) => setTimeout(r, 20));
  }

  it("retries an RPC that refuses calls during the wait, writing nothing to stdout (was: ethers' waitForTransaction console.logged \"EEE\" and each error, whose info names CHAIN_RPC_URL with its credentials)", async () => {
    const proxy = await startCountingProxy(chain.rpcUrl);
    const node = createRpcProvider(chain.rpcUrl);
    const lines: string[] = [];
    const printed: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
    try {
      const deployed = contractsDeploy({ rpc: proxy.url.replace('http://', 'http://deployer:s3cret@'), privateKey: chain.anchorerPrivateKey, confirmations: 3, out: (l) => lines.push(l) });
      await until(() => lines.some((l) => l.startsWith('waiting for 3 confirmations')));
      proxy.refuse(['eth_getTransactionReceipt']);
      const refusedBefore = proxy.count('eth_getTransactionReceipt');
      await node.send('evm_mine', []);
      await until(() => proxy.count('eth_getTransactionReceipt') >= refusedBefore + 1);
      proxy.refuse([]);
      await node.send('evm_mine', []);
      await node.send('evm_mine', []);
      const d = await deployed;
      expect(lines).to.include(`ANCHOR_CONTRACT=${d.address}`);
    } finally {
      console.log = log;
      node.destroy();
      await proxy.close();
    }
    expect(printed).to.deep.equal([]);
    expect(lines.join('\n')).to.not.include('s3cret');
  });

  it('says that no block comes (a node that mines only for transactions) instead of waiting silently for ever, and prints ANCHOR_CONTRACT once blocks come', async () => {
    const node = createRpcProvider(chain.rpcUrl);
    const lines: string[] = [];
    try {
      const deployed = contractsDeploy({ rpc: chain.rpcUrl, privateKey: chain.anchorerPrivateKey, confirmations: 2, pollMs: 20, stallMs: 200, out: (l) => lines.push(l) });
      await until(() => lines.some((l) => l.startsWith('no new block for')));
      expect(lines.find((l) => l.startsWith('no new block for'))).to.match(/^no new block for 0\.2 s \(head block \d+, the deployment 1 of 2 blocks deep\): a node that mines only for transactions \(Hardhat, anvil without --block-time\) makes none; still waiting: mine blocks, or stop and deploy again with --confirmations 1$/);
      expect(lines.join('\n')).to.not.include('ANCHOR_CONTRACT=');
      await node.send('evm_mine', []);
      const d = await deployed;
      expect(lines.at(-1)).to.equal(`ANCHOR_CONTRACT=${d.address}`);
    } finally {
      node.destroy();
    }
  });

  it('stops with an error (the CLI exits 1) when a reorg drops the deployment and the node no longer knows it, printing no ANCHOR_CONTRACT (was: waited for ever)', async () => {
    const node = createRpcProvider(chain.rpcUrl);
    const lines: string[] = [];
    const snapshot = await node.send('evm_snapshot', []);
    try {
      const deployed = contractsDeploy({ rpc: chain.rpcUrl, privateKey: chain.anchorerPrivateKey, confirmations: 2, pollMs: 20, out: (l) => lines.push(l) });
      const outcome = deployed.then(
        () => undefined,
        (err: Error) => err,
      );
      await until(() => lines.some((l) => l.startsWith('waiting for 2 confirmations')));
      expect(await node.send('evm_revert', [snapshot])).to.equal(true);
      // Gone for as many blocks as the confirmations asked.
      let settled = false;
      void outcome.then(() => (settled = true));
      while (!settled) (await node.send('evm_mine', []), await new Promise((r) => setTimeout(r, 50)));
      const err = await outcome;
      expect(err?.message).to.match(/^AuditAnchor deployment 0x[0-9a-f]{64} is no longer on chain at 0x[0-9a-fA-F]{40} \(a reorg\?\): deploy again$/);
      expect(lines.join('\n')).to.not.include('ANCHOR_CONTRACT=');
    } finally {
      node.destroy();
    }
  });
});
