import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const BIN = join(__dirname, '../../bin/openmcp');
// No gateway, no chain, no config file: a command that ran would fail with another code and text.
const openmcp = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 25_000,
    env: { ...process.env, ANCHOR_CONTRACT: '', OPENMCP_CONFIG: '', OPENMCP_URL: 'http://127.0.0.1:9', OPENMCP_API_KEY: 'omk_whatever_whatever' },
  });
const { version } = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string };

/**
 * Options before the command's name are openmcp's own (--help, --version); after it, the command's
 * (--help is its help). A command line the parser refuses exits 2 for every command, as verify's
 * does (docs/proofs.md: 0 verified, 1 a check failed, 2 nothing checked): `openmcp --rpc URL verify
 * p.json` exited 1, "verification failed", and `openmcp verify p.json --version` printed the
 * version and exited 0, which an auditor's script read as "verified".
 */
describe('openmcp command lines: where options go, and exit 2 for one it cannot run', function () {
  this.timeout(120_000);

  for (const [args, flag, command] of [
    [['--rpc', 'http://127.0.0.1:1', 'verify', 'proof.json'], '--rpc', 'verify'],
    [['--file', 'batch.json', 'verify-batch', '1'], '--file', 'verify-batch'],
    [['--json', 'tasks', 'list'], '--json', 'tasks list'],
    [['tasks', '--json', 'list'], '--json', 'tasks list'],
    [['--roles', 'api', 'start'], '--roles', 'start'],
  ] as const) {
    it(`openmcp ${args.join(' ')}: a command's option before its name is refused with exit 2, saying where it goes`, () => {
      const r = openmcp(...args);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.include(`error: unknown option '${flag}'`);
      expect(r.stderr).to.include(`a command's options go after its name: openmcp ${command} ${flag} …`);
    });
  }

  for (const args of [
    ['verify', 'proof.json', '--version'],
    ['verify-batch', '1', '--file', 'batch.json', '-V'],
    ['tasks', 'list', '--version'],
  ]) {
    it(`openmcp ${args.join(' ')}: --version after a command is refused with exit 2, printing no version`, () => {
      const r = openmcp(...args);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stdout).to.not.include(version);
      expect(r.stderr).to.include(`is openmcp's own option: give it alone, openmcp --version`);
      expect(r.stdout + r.stderr).to.not.match(/^FAILED: |SDK_CONNECTION_FAILED/m);
    });
  }

  // The option was checked as OPENMCP_ROLES once the configuration loaded: exit 1, naming a variable not set.
  it('openmcp start --roles bogus: refused by the parser naming --roles, exit 2, nothing started', () => {
    const r = openmcp('start', '--roles', 'api,bogus');
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.include("error: option '--roles <list>' argument 'api,bogus' is invalid. expected all or a comma list of api, gateway, relay, projector, sealer, anchorer, agent");
    expect(r.stderr).to.not.include('OPENMCP_ROLES=');
  });

  it('openmcp --version prints the version, exit 0', () => {
    const r = openmcp('--version');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(version);
  });

  it("--help after a command prints that command's help and exits 0, running nothing", () => {
    for (const args of [['verify', 'proof.json', '--help'], ['verify-batch', '1', '--file', 'batch.json', '-h'], ['tasks', 'list', '--json', '--help']]) {
      const r = openmcp(...args);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.include(`Usage: openmcp ${args[0] === 'tasks' ? 'tasks list' : args[0]} `);
      expect(r.stdout + r.stderr).to.not.match(/^FAILED: |SDK_CONNECTION_FAILED/m);
    }
  });

  it("a client command's unknown option, missing argument or missing command exits 2 as well (was 1, a failed request's code)", () => {
    for (const args of [['tasks', 'list', '--bogus'], ['tasks', 'show'], ['tasks'], ['bogus']]) {
      const r = openmcp(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr).to.not.include('SDK_CONNECTION_FAILED');
    }
  });
});
