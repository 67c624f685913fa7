import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContractFactory, parseEther, Wallet, type JsonRpcProvider } from 'ethers';
import singleStepAdmin from '../fixtures/AuditAnchor.single-step-admin.artifact.json';
import { auditAnchorAt, deployAuditAnchor } from '../../src/web3/audit-anchor';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { createRpcProvider } from '../../src/web3/provider';
import { contractsAdminStatus } from '../../src/cli/contracts-admin';
import { startCountingProxy } from '../support/counting-rpc-proxy';
import { openmcpInProcess } from '../support/openmcp-in-process';

/** No configuration file, nor the chain settings of the environment: only the command line counts. */
const OWN_SETTINGS = { OPENMCP_CONFIG: '', CHAIN_RPC_URL: undefined, ANCHOR_CONTRACT: undefined, ANCHORER_PRIVATE_KEY: undefined };

/** The real `bin/openmcp`, for the test that shows the commands as a process runs them (exit code, output, and ending once done). */
function openmcpProcess(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...OWN_SETTINGS };
    for (const [k, v] of Object.entries(OWN_SETTINGS)) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, ['bin/openmcp', ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The same command line through runOpenmcp in this process: the other tests are about what the commands do. */
const openmcp = (args: string[]) => openmcpInProcess(args, OWN_SETTINGS);

/**
 * AuditAnchor's admin grants and revokes anchorers. Handed over in one step (grantRole, then
 * revokeRole of the old one), a mistyped address lost it for good; now the new admin must accept,
 * after a delay, and the old one can cancel until then.
 */
describe('openmcp contracts admin status|begin|accept|cancel', function () {
  this.timeout(180_000);
  let dir: string;
  let chain: LocalChain;
  let provider: JsonRpcProvider;
  const admin = Wallet.createRandom();
  const next = Wallet.createRandom();
  const stranger = Wallet.createRandom();
  let contract: string;
  const on = () => ['--rpc', chain.rpcUrl, '--contract', contract];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openmcp-admin-'));
    chain = await startLocalChain({ port: 0, dataDir: dir });
    provider = createRpcProvider(chain.rpcUrl);
    const funder = new Wallet(chain.anchorerPrivateKey, provider);
    for (const w of [admin, next, stranger]) await (await funder.sendTransaction({ to: w.address, value: parseEther('1') })).wait();
    contract = (await deployAuditAnchor(funder, { admin: admin.address, adminDelaySeconds: 3600 })).address;
  });
  after(async () => {
    provider?.destroy();
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands the admin role over: begin by the admin, accept by the new admin only after the delay; refusals send nothing and say why', async () => {
    let r = await openmcpProcess(['contracts', 'admin', 'status', ...on()]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`admin: ${admin.address.toLowerCase()}`).and.include('admin handover delay: 3600 s (1h)').and.include('pending admin: none');

    r = await openmcpProcess(['contracts', 'admin', 'begin', next.address, ...on(), '--private-key', stranger.privateKey]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include(`ANCHOR_ADMIN_REFUSED: ${stranger.address.toLowerCase()} is not the admin of ${contract} (the admin is ${admin.address.toLowerCase()}): give the admin's key; nothing was sent`);
    expect(await provider.getTransactionCount(stranger.address)).to.equal(0);

    r = await openmcpProcess(['contracts', 'admin', 'begin', next.address, ...on(), '--private-key', admin.privateKey]);
    expect(r.status, r.stderr).to.equal(0);
    const acceptAfter = /can accept after (\S+)/.exec(r.stdout)?.[1];
    expect(acceptAfter, r.stdout).to.be.a('string');
    // The next step as docs/operations.md ("Rotating keys") gives it: the key from a file, not on the command line.
    expect(r.stdout).to.include(`openmcp contracts admin accept --rpc … --contract ${contract.toLowerCase()} --private-key-file NEW_ADMIN_KEY_FILE;`);
    r = await openmcpProcess(['contracts', 'admin', 'status', ...on()]);
    expect(r.stdout).to.include(`pending admin: ${next.address.toLowerCase()}, who can accept after ${acceptAfter}`);

    r = await openmcpProcess(['contracts', 'admin', 'accept', ...on(), '--private-key', next.privateKey]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include(`ANCHOR_ADMIN_REFUSED: the admin handover of ${contract} can be accepted after ${acceptAfter}, not before; nothing was sent`);
    r = await openmcpProcess(['contracts', 'admin', 'accept', ...on(), '--private-key', stranger.privateKey]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include(`ANCHOR_ADMIN_REFUSED: ${stranger.address.toLowerCase()} cannot accept the admin role of ${contract}: the pending admin is ${next.address.toLowerCase()}`);

    await provider.send('evm_increaseTime', [3601]);
    await provider.send('evm_mine', []);
    r = await openmcpProcess(['contracts', 'admin', 'accept', ...on(), '--private-key', next.privateKey]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`admin is now ${next.address.toLowerCase()}`);
    const c = auditAnchorAt(contract, provider);
    expect(await c.defaultAdmin()).to.equal(next.address);
    expect(await c.hasRole(await c.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(false);
  });

  it('cancel drops a handover to a mistyped address; the admin stays', async () => {
    const typo = '0x000000000000000000000000000000000000dEaD';
    let r = await openmcp(['contracts', 'admin', 'cancel', ...on(), '--private-key', next.privateKey]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include(`ANCHOR_ADMIN_REFUSED: no admin handover is pending on ${contract}; nothing was sent`);
    r = await openmcp(['contracts', 'admin', 'begin', typo, ...on(), '--private-key', next.privateKey]);
    expect(r.status, r.stderr).to.equal(0);
    r = await openmcp(['contracts', 'admin', 'cancel', ...on(), '--private-key', next.privateKey]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`handover to ${typo.toLowerCase()} cancelled`).and.include(`admin stays ${next.address.toLowerCase()}`);
    const [pending, schedule] = await auditAnchorAt(contract, provider).pendingDefaultAdmin();
    expect([pending, schedule]).to.deep.equal(['0x0000000000000000000000000000000000000000', 0n]);
  });

  it('refuses bad input before asking the chain: a zero or malformed new admin, a malformed key (not echoed)', async () => {
    // Command lines it cannot run: exit 2, as the parser's refusals.
    let r = await openmcp(['contracts', 'admin', 'begin', `0x${'0'.repeat(40)}`, ...on(), '--private-key', admin.privateKey]);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include(`error: <new-admin> must be a non-zero address (0x and 40 hex digits), got 0x${'0'.repeat(40)}`);
    r = await openmcp(['contracts', 'admin', 'accept', ...on(), '--private-key', '0xsecret']);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include('error: --private-key must be 0x and 64 hex digits').and.not.include('0xsecret');
  });

  it('names a contract deployed before release 2026-12-11 (single-step admin) and how its admin moves instead', async () => {
    const funder = new Wallet(chain.anchorerPrivateKey, provider);
    const old = await new ContractFactory(singleStepAdmin.abi as never, singleStepAdmin.bytecode, funder).deploy(admin.address, funder.address);
    await old.waitForDeployment();
    const address = (await old.getAddress()).toLowerCase();
    let r = await openmcp(['contracts', 'admin', 'status', '--rpc', chain.rpcUrl, '--contract', address]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`AuditAnchor ${address} on chain 31337 was deployed by a release before 2026-12-11: its admin moves in one step`);
    r = await openmcp(['contracts', 'admin', 'begin', next.address, '--rpc', chain.rpcUrl, '--contract', address, '--private-key', admin.privateKey]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include(`ANCHOR_ADMIN_REFUSED: the AuditAnchor at ${address} was deployed by a release before 2026-12-11`);
  });
  it('refuses a key of the right form that is no secp256k1 private key (zero, the curve order or above) with a clear error, not a stack trace, and without echoing it', async () => {
    for (const bad of [`0x${'0'.repeat(64)}`, `0x${'f'.repeat(64)}`]) {
      const r = await openmcp(['contracts', 'admin', 'accept', ...on(), '--private-key', bad]);
      expect(r.status).to.equal(2);
      expect(r.stderr).to.include('error: --private-key is not a secp256k1 private key').and.not.include(bad.slice(2)).and.not.match(/^\s+at .+:\d+:\d+\)?$/m); // no stack trace
    }
  });

  it('takes the key from --private-key-file (out of the process list and shell history); refuses both, neither, or a file without a key, never echoing it', async () => {
    const own = (await deployAuditAnchor(new Wallet(chain.anchorerPrivateKey, provider), { admin: admin.address, adminDelaySeconds: 60 })).address;
    const keyFile = join(dir, 'admin.key');
    writeFileSync(keyFile, `${admin.privateKey}\n`, { mode: 0o600 });
    let r = await openmcp(['contracts', 'admin', 'begin', next.address, '--rpc', chain.rpcUrl, '--contract', own, '--private-key-file', keyFile]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`${next.address.toLowerCase()} can accept after`);
    r = await openmcp(['contracts', 'admin', 'cancel', '--rpc', chain.rpcUrl, '--contract', own, '--private-key-file', keyFile, '--private-key', admin.privateKey]);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include('error: give the key in --private-key or in --private-key-file, not both').and.not.include(admin.privateKey.slice(2));
    r = await openmcp(['contracts', 'admin', 'cancel', '--rpc', chain.rpcUrl, '--contract', own]);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include('error: contracts admin cancel needs the key in --private-key-file FILE (or --private-key)');
    // What a file holds, or a file that cannot be read, fails the command as it runs: exit 1.
    const notAKey = join(dir, 'not-a-key');
    writeFileSync(notAKey, 'hunter2-hunter2\n', { mode: 0o600 });
    r = await openmcp(['contracts', 'admin', 'cancel', '--rpc', chain.rpcUrl, '--contract', own, '--private-key-file', notAKey]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include(`VALIDATION_FAILED: --private-key-file ${notAKey} must hold 0x and 64 hex digits`).and.not.include('hunter2');
    r = await openmcp(['contracts', 'admin', 'cancel', '--rpc', chain.rpcUrl, '--contract', own, '--private-key-file', join(dir, 'missing.key')]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include(`VALIDATION_FAILED: --private-key-file ${join(dir, 'missing.key')} cannot be read (ENOENT)`);
    expect((await auditAnchorAt(own, provider).pendingDefaultAdmin())[0]).to.equal(next.address);
  });

  it('begin over a pending handover says which one it replaces (the contract drops the earlier one without a word)', async () => {
    const own = (await deployAuditAnchor(new Wallet(chain.anchorerPrivateKey, provider), { admin: admin.address, adminDelaySeconds: 60 })).address;
    const args = ['--rpc', chain.rpcUrl, '--contract', own, '--private-key', admin.privateKey];
    let r = await openmcp(['contracts', 'admin', 'begin', next.address, ...args]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.not.include('replaces');
    r = await openmcp(['contracts', 'admin', 'begin', stranger.address, ...args]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`replaces the handover to ${next.address.toLowerCase()}, pending until now`);
  });
  it('an admin account that cannot pay the gas (a fresh offline key) is told so in one line, not with the raw signed transaction', async () => {
    const poor = Wallet.createRandom();
    const own = (await deployAuditAnchor(new Wallet(chain.anchorerPrivateKey, provider), { admin: poor.address, adminDelaySeconds: 60 })).address;
    const r = await openmcp(['contracts', 'admin', 'begin', next.address, '--rpc', chain.rpcUrl, '--contract', own, '--private-key', poor.privateKey]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include(
      `ANCHOR_ADMIN_REFUSED: ${poor.address.toLowerCase()} cannot pay the gas of beginDefaultAdminTransfer on chain 31337: its balance is 0 wei; fund it; nothing was sent`,
    );
    expect(r.stderr).to.not.include('eth_sendRawTransaction');
    expect(await provider.getTransactionCount(poor.address)).to.equal(0);
  });
  it('a chain that does not answer is named by its URL, credentials masked, and the option to fix (was: ECONNREFUSED and an address, nothing else)', async () => {
    const r = await openmcp(['contracts', 'admin', 'status', '--rpc', 'http://ops:s3cretpw@127.0.0.1:1/', '--contract', contract]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.include('DEPENDENCY_UNAVAILABLE: chain: no JSON-RPC node answers at http://***:***@127.0.0.1:1/ (connect ECONNREFUSED 127.0.0.1:1): check --rpc (CHAIN_RPC_URL)');
    expect(r.stderr + r.stdout).to.not.include('s3cretpw');
  });
  it('an RPC refusing the contract reads (a rate limit) is DEPENDENCY_UNAVAILABLE in the node\'s words, not a contract that is no AuditAnchor (was: ANCHOR_CONTRACT_MISSING "not an AuditAnchor")', async () => {
    const proxy = await startCountingProxy(chain.rpcUrl);
    try {
      proxy.refuse(['eth_call'], { code: -32005, message: 'daily request count exceeded, request rate limited' });
      const err = (await contractsAdminStatus({ rpc: proxy.url, contract, out: () => {} }).then(() => expect.fail('answered'), (e: unknown) => e)) as { code?: string; message?: string };
      expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
      expect(err.message).to.contain('refused eth_call: -32005 daily request count exceeded, request rate limited');
    } finally {
      await proxy.close();
    }
  });
  it('status names a scheduled renouncement (a handover to the zero address, sent from a wallet) for what it is, not as a pending admin 0x0…0', async () => {
    const own = (await deployAuditAnchor(new Wallet(chain.anchorerPrivateKey, provider), { admin: admin.address, adminDelaySeconds: 60 })).address;
    await (await (auditAnchorAt(own, admin.connect(provider)).beginDefaultAdminTransfer(`0x${'0'.repeat(40)}`) as Promise<{ wait(): Promise<unknown> }>)).wait();
    const [, schedule] = (await auditAnchorAt(own, provider).pendingDefaultAdmin()) as [string, bigint];
    const r = await openmcp(['contracts', 'admin', 'status', '--rpc', chain.rpcUrl, '--contract', own]);
    expect(r.status, r.stderr).to.equal(0);
    const at = new Date(Number(schedule) * 1000).toISOString();
    expect(r.stdout).to.include(
      `pending admin: none; the admin's renouncement is scheduled: after ${at}, renounceRole(DEFAULT_ADMIN_ROLE, ${admin.address.toLowerCase()}) leaves the contract without an admin for good (cancel stops it)`,
    );
  });
});
