import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openmcpInProcess, type CommandResult } from '../support/openmcp-in-process';

const BIN = join(__dirname, '../../bin/openmcp');
/** As `bin/openmcp`, a process of its own: for one case of each kind of ending (a parser refusal, a verdict). */
const realOpenmcpWith = (env: Record<string, string>, ...args: string[]): CommandResult => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 25_000, env: { ...process.env, ANCHOR_CONTRACT: '', ...env } });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};
/** The others run in process (test/support/openmcp-in-process.ts): what is checked is the CLI's answer. */
const openmcpWith = (env: Record<string, string>, ...args: string[]) => openmcpInProcess(args, { ANCHOR_CONTRACT: '', ...env });
const openmcp = (...args: string[]) => openmcpWith({}, ...args);

/**
 * An auditor's script reads exit 1 as "a check failed" (docs/proofs.md: 0 all pass, 1 a check
 * failed, 2 nothing could be checked). A mistyped option or a missing argument checked nothing,
 * yet exited 1 like a forged proof.
 */
describe('openmcp verify / verify-batch: a command line it cannot run exits 2, as no check ran', function () {
  this.timeout(60_000);

  for (const [args, real] of [
    [['verify'], true],
    [['verify', 'proof.json', '--rcp', 'http://127.0.0.1:8545']],
    [['verify-batch', 'x', '--file', 'batch.json']],
    // Beyond 2^53 Number() rounded it: "the export is of batch 0, not batch 100000000000000000000".
    [['verify-batch', '99999999999999999999', '--file', 'batch.json']],
  ] as const) {
    it(`openmcp ${args.join(' ')}${real ? ' (bin/openmcp)' : ''}`, async () => {
      const r = real ? realOpenmcpWith({}, ...args) : await openmcp(...args);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.match(/error: /);
    });
  }

  // Without --file the export is fetched from the gateway (DESIGN.md: `verify-batch <id>`): none there checks nothing, exit 2, saying where it asked.
  it('openmcp verify-batch 2 with no gateway at OPENMCP_URL (bin/openmcp): exit 2, naming the URL and --file', () => {
    const r = realOpenmcpWith({ OPENMCP_URL: 'http://127.0.0.1:9', OPENMCP_API_KEY: 'omk_whatever' }, 'verify-batch', '2', '--rpc', 'http://127.0.0.1:1', '--contract', '0x5fbdb2315678afecb367f032d93f642f64180aa3');
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stdout).to.match(/^FAILED: cannot fetch the export of batch 2 from http:\/\/127\.0\.0\.1:9: SDK_CONNECTION_FAILED: .*; set OPENMCP_URL to the gateway, or give the export with --file\n$/);
  });

  // An OPENMCP_URL that is no URL to ask says so once, its password not printed (`user:pw@host` without a scheme parses as scheme `user:`).
  it('openmcp verify-batch 2 with an OPENMCP_URL holding a password: exit 2, SDK_URL_INVALID, the password nowhere', async () => {
    for (const url of ['http://alice:s3cretpw@127.0.0.1:9', 'alice:s3cretpw@127.0.0.1:9']) {
      const r = await openmcpWith({ OPENMCP_URL: url, OPENMCP_API_KEY: 'omk_whatever' }, 'verify-batch', '2', '--rpc', 'http://127.0.0.1:1', '--contract', '0x5fbdb2315678afecb367f032d93f642f64180aa3');
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stdout, url).to.match(/^FAILED: cannot fetch the export of batch 2: SDK_URL_INVALID: OPENMCP_URL .*\n$/);
      expect(r.stdout + r.stderr, url).to.not.include('s3cretpw');
    }
  });

  it('--help still exits 0', async () => {
    expect((await openmcp('verify', '--help')).status).to.equal(0);
  });

  // --rpc or --contract not given, they come from OPENMCP_CONFIG: a file that cannot be read checked nothing either (it exited 1, "a check failed").
  it('an OPENMCP_CONFIG it cannot read exits 2, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verify-usage-'));
    const config = join(dir, 'openmcp.json');
    writeFileSync(config, '{"CHAIN_PORT": "8545", "CHAIN_PORT": "18545"}');
    writeFileSync(join(dir, 'batch.json'), '[]');
    for (const args of [['verify', join(dir, 'proof.json')], ['verify-batch', '0', '--file', join(dir, 'batch.json')]]) {
      const r = await openmcpWith({ OPENMCP_CONFIG: config, CHAIN_RPC_URL: '', CHAIN_PORT: '' }, ...args);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(`OPENMCP_CONFIG ${config}: names "CHAIN_PORT" twice in one object`);
    }
  });
});
