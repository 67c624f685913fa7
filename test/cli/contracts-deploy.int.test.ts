import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { createRpcProvider } from '../../src/web3/provider';
import { openmcpInProcess } from '../support/openmcp-in-process';

/** The real `bin/openmcp`, for the tests that show the command as a process runs it (exit code, output as it comes, and ending once done). */
function openmcpProcess(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/openmcp', ...args], { env: { ...process.env, OPENMCP_CONFIG: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The same command line through runOpenmcp in this process: the other tests are about what the command does. */
const openmcp = (args: string[], env: Record<string, string>) => openmcpInProcess(args, { OPENMCP_CONFIG: '', ...env });

/**
 * The admin role grants and revokes anchorers. Deployed by the anchorer's key without --admin, that
 * hot key is also the admin: rotated out after a leak, it could grant itself the anchorer role again.
 */
describe('openmcp contracts deploy', function () {
  this.timeout(120_000);
  let dir: string;
  let chain: LocalChain;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openmcp-deploy-'));
    chain = await startLocalChain({ port: 0, dataDir: dir });
  });
  after(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the admin role to --admin and the anchorer role to --anchorer, and says who holds which (was: no --admin, the deployer was always admin)', async () => {
    const admin = Wallet.createRandom().address;
    const anchorer = Wallet.createRandom().address;
    const r = await openmcpProcess(['contracts', 'deploy', '--rpc', chain.rpcUrl, '--admin', admin, '--anchorer', anchorer], { ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey });
    expect(r.status, r.stderr).to.equal(0);
    const address = /ANCHOR_CONTRACT=(0x[0-9a-f]{40})/.exec(r.stdout)?.[1];
    expect(address, r.stdout).to.be.a('string');
    expect(r.stdout).to.include(`admin (grants and revokes anchorers): ${admin.toLowerCase()}`).and.include(`anchorer: ${anchorer.toLowerCase()}`);
    const provider = createRpcProvider(chain.rpcUrl);
    try {
      const c = auditAnchorAt(address!, provider);
      const deployer = new Wallet(chain.anchorerPrivateKey).address;
      expect(await c.hasRole(await c.DEFAULT_ADMIN_ROLE(), admin)).to.equal(true);
      expect(await c.hasRole(await c.DEFAULT_ADMIN_ROLE(), deployer)).to.equal(false);
      expect(await c.hasRole(await c.ANCHORER_ROLE(), anchorer)).to.equal(true);
      expect(await c.hasRole(await c.ANCHORER_ROLE(), deployer)).to.equal(false);
      // The admin moves in two steps, a day apart unless --admin-delay says otherwise.
      expect(await c.defaultAdmin()).to.equal(admin);
      expect(await c.defaultAdminDelay()).to.equal(86_400n);
      expect(r.stdout).to.include('admin handover delay: 86400 s (1d)');
    } finally {
      provider.destroy();
    }
  });

  it('--admin-delay sets the handover delay (seconds, or with s, m, h or d); a bad one or one over 30d is refused before sending anything', async () => {
    const r = await openmcp(['contracts', 'deploy', '--rpc', chain.rpcUrl, '--admin-delay', '12h'], { ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include('admin handover delay: 43200 s (12h)');
    const address = /ANCHOR_CONTRACT=(0x[0-9a-f]{40})/.exec(r.stdout)![1];
    const provider = createRpcProvider(chain.rpcUrl);
    try {
      expect(await auditAnchorAt(address, provider).defaultAdminDelay()).to.equal(43_200n);
    } finally {
      provider.destroy();
    }
    for (const bad of ['1y', '-1', '31d', '1.5h', '']) {
      const refused = await openmcp(['contracts', 'deploy', '--rpc', chain.rpcUrl, '--admin-delay', bad], { ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey });
      expect(refused.status, bad).to.equal(2);
      expect(refused.stderr).to.include(`error: --admin-delay must be seconds, or a whole number with s, m, h or d, at most 30d (2592000 s), got ${bad}`);
    }
  });

  it('--admin-delay 0 is taken (OpenZeppelin allows it) with a note that nothing is left to cancel', async () => {
    const r = await openmcp(['contracts', 'deploy', '--rpc', chain.rpcUrl, '--admin-delay', '0'], { ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include('admin handover delay: 0 s (none)');
    expect(r.stdout).to.include('note: without a delay a new admin can accept at once: a handover begun with a leaked admin key cannot be cancelled in time');
  });

  it('refuses an --admin or --anchorer that is not an address, before sending anything', async () => {
    const r = await openmcp(['contracts', 'deploy', '--rpc', chain.rpcUrl, '--admin', '0x1234'], { ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include('error: --admin must be an address (0x and 40 hex digits), got 0x1234');
  });

  it('refuses a deployer key that is no secp256k1 private key with a clear error, not a stack trace, and without echoing it', async () => {
    const bad = `0x${'0'.repeat(64)}`;
    const r = await openmcp(['contracts', 'deploy', '--rpc', chain.rpcUrl], { ANCHORER_PRIVATE_KEY: bad });
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include('error: contracts deploy: --private-key or ANCHORER_PRIVATE_KEY is not a secp256k1 private key').and.not.include(bad.slice(2)).and.not.match(/^\s+at .+:\d+:\d+\)?$/m); // no stack trace (the help after it has lines starting "at most")
  });

  it('refuses the zero address as --admin before sending anything (was: the deployment reverted in estimateGas, printing the whole creation bytecode)', async () => {
    const deployer = new Wallet(chain.anchorerPrivateKey).address;
    const provider = createRpcProvider(chain.rpcUrl);
    try {
      const nonce = await provider.getTransactionCount(deployer);
      const r = await openmcp(['contracts', 'deploy', '--rpc', chain.rpcUrl, '--admin', `0x${'0'.repeat(40)}`], { ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey });
      expect(r.status).to.equal(2);
      expect(r.stderr).to.include(`error: --admin must be a non-zero address (0x and 40 hex digits), got 0x${'0'.repeat(40)}`);
      expect(r.stderr).to.not.include('0x6080');
      expect(await provider.getTransactionCount(deployer)).to.equal(nonce);
    } finally {
      provider.destroy();
    }
  });

  it('names a deployer account that cannot pay for the deployment, its address and balance, in one line (was: "could not coalesce error" with the whole signed transaction, 13 KB)', async () => {
    const poor = Wallet.createRandom();
    const r = await openmcp(['contracts', 'deploy', '--rpc', chain.rpcUrl], { ANCHORER_PRIVATE_KEY: poor.privateKey });
    expect(r.status).to.equal(1);
    expect(r.stderr.trim()).to.equal(
      `openmcp: ANCHOR_DEPLOY_NO_FUNDS: the deployer account ${poor.address.toLowerCase()} cannot pay for deploying AuditAnchor on chain 31337: its balance is 0 wei (a deployment takes about 1.36 M gas); fund it, or deploy with a funded key (--private-key). Nothing was sent`,
    );
  });

  /** Run `contracts deploy` while this test mines a block every 100 ms once the deployment is mined (automine mines only for transactions); blocks mined when ANCHOR_CONTRACT was printed. */
  async function deployWhileMining(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string; minedAtPrint?: number }> {
    const provider = createRpcProvider(chain.rpcUrl);
    const child = spawn(process.execPath, ['bin/openmcp', 'contracts', 'deploy', '--rpc', chain.rpcUrl, ...args], { env: { ...process.env, OPENMCP_CONFIG: '', ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey, ...env } });
    let stdout = '';
    let stderr = '';
    let mined = 0;
    let minedAtPrint: number | undefined;
    child.stdout.on('data', (c) => {
      stdout += String(c);
      if (minedAtPrint === undefined && stdout.includes('ANCHOR_CONTRACT=')) minedAtPrint = mined;
    });
    child.stderr.on('data', (c) => (stderr += String(c)));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    let done = false;
    void exited.then(() => (done = true));
    try {
      while (!done && !stdout.includes('deployed at')) await new Promise((r) => setTimeout(r, 50));
      while (!done && mined < 20) {
        await new Promise((r) => setTimeout(r, 100));
        if (!done) (await provider.send('evm_mine', []), mined++);
      }
      return { status: await exited, stdout, stderr, minedAtPrint };
    } finally {
      provider.destroy();
    }
  }

  it('--confirmations N (default CHAIN_CONFIRMATIONS, else 1) waits until the deployment is N blocks deep before printing ANCHOR_CONTRACT (was: after 1, an address a reorg could drop)', async () => {
    const byOption = await deployWhileMining(['--confirmations', '3'], {});
    expect(byOption.status, byOption.stderr).to.equal(0);
    expect(byOption.stdout).to.include('waiting for 3 confirmations before printing ANCHOR_CONTRACT');
    expect(byOption.minedAtPrint, byOption.stdout).to.be.at.least(2);
    const byEnv = await deployWhileMining([], { CHAIN_CONFIRMATIONS: '2' });
    expect(byEnv.status, byEnv.stderr).to.equal(0);
    expect(byEnv.minedAtPrint, byEnv.stdout).to.be.at.least(1);
    for (const bad of ['x', '-1', '65', '1.5']) {
      const refused = await openmcp(['contracts', 'deploy', '--rpc', chain.rpcUrl, '--confirmations', bad], { ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey });
      expect(refused.status, bad).to.equal(2);
      expect(refused.stderr).to.include(`error: --confirmations must be a whole number of blocks from 0 to 64 (0 counts as 1), got ${bad}`);
    }
  });

  it("refuses a deployer key that is not one naming where it came from, never printing it (infra/.env.example's placeholder `0x`; was: ethers' INVALID_ARGUMENT \"invalid private key\")", async () => {
    for (const key of ['0x', `0x${'ab'.repeat(31)}`, 'not-a-key-at-all']) {
      const r = await openmcp(['contracts', 'deploy', '--rpc', chain.rpcUrl], { ANCHORER_PRIVATE_KEY: key });
      expect(r.status, key).to.equal(2);
      expect(r.stderr.split('\n')[0], key).to.equal('error: contracts deploy: --private-key or ANCHORER_PRIVATE_KEY must be 0x and 64 hex digits');
      expect(r.stderr, key).to.not.include(key.length > 2 ? key.slice(2) : 'never');
    }
  });
});
