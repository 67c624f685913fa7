import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openmcpInProcess, type CommandResult } from '../support/openmcp-in-process';

const BIN = join(__dirname, '../../bin/openmcp');
// No gateway, no chain, no config file: a command that ran would fail with another code and text.
const ENV = { ANCHOR_CONTRACT: '', ANCHORER_PRIVATE_KEY: '', CHAIN_RPC_URL: '', OPENMCP_CONFIG: '', OPENMCP_URL: 'http://127.0.0.1:9', OPENMCP_API_KEY: 'omk_whatever_whatever' };
type Run = (args: readonly string[], env?: Record<string, string>) => Promise<CommandResult>;
/**
 * What is checked here is the command line's parsing and the CLI's answer, so it runs in process
 * (test/support/openmcp-in-process.ts, its parity with bin/openmcp in in-process.unit.test.ts);
 * one case of each command family runs as `bin/openmcp`, marked so in its title, for the exit code
 * and output a real process ends with.
 */
const inProcess: Run = (args, env = {}) => openmcpInProcess(args, { ...ENV, ...env });
const realProcess: Run = async (args, env = {}) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 25_000, env: { ...process.env, ...ENV, ...env } });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};
const by = (real: boolean | undefined): [Run, string] => (real ? [realProcess, ' (bin/openmcp)'] : [inProcess, '']);
const openmcp = (...args: string[]) => inProcess(args);
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

  for (const [args, flag, command, real] of [
    [['--rpc', 'http://127.0.0.1:1', 'verify', 'proof.json'], '--rpc', 'verify', true],
    [['--file', 'batch.json', 'verify-batch', '1'], '--file', 'verify-batch'],
    [['--json', 'tasks', 'list'], '--json', 'tasks list'],
    [['tasks', '--json', 'list'], '--json', 'tasks list'],
    [['--roles', 'api', 'start'], '--roles', 'start'],
  ] as const) {
    const [run, how] = by(real);
    it(`openmcp ${args.join(' ')}${how}: a command's option before its name is refused with exit 2, saying where it goes`, async () => {
      const r = await run(args);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.include(`error: unknown option '${flag}'`);
      expect(r.stderr).to.include(`a command's options go after its name: openmcp ${command} ${flag} …`);
    });
  }

  for (const [args, real] of [
    [['verify', 'proof.json', '--version']],
    [['verify-batch', '1', '--file', 'batch.json', '-V']],
    [['tasks', 'list', '--version'], true],
  ] as const) {
    const [run, how] = by(real);
    it(`openmcp ${args.join(' ')}${how}: --version after a command is refused with exit 2, printing no version`, async () => {
      const r = await run(args);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stdout).to.not.include(version);
      expect(r.stderr).to.include(`is openmcp's own option: give it alone, openmcp --version`);
      expect(r.stdout + r.stderr).to.not.match(/^FAILED: |SDK_CONNECTION_FAILED/m);
    });
  }

  // The option was checked as OPENMCP_ROLES once the configuration loaded: exit 1, naming a variable not set.
  it('openmcp start --roles bogus (bin/openmcp): refused by the parser naming --roles, exit 2, nothing started', async () => {
    const r = await realProcess(['start', '--roles', 'api,bogus']);
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.include("error: option '--roles <list>' argument 'api,bogus' is invalid. expected all or a comma list of api, gateway, relay, projector, sealer, anchorer, agent");
    expect(r.stderr).to.not.include('OPENMCP_ROLES=');
  });

  it('openmcp --version (bin/openmcp) prints the version, exit 0', async () => {
    const r = await realProcess(['--version']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(version);
  });

  it("--help after a command prints that command's help and exits 0, running nothing", async () => {
    for (const args of [['verify', 'proof.json', '--help'], ['verify-batch', '1', '--file', 'batch.json', '-h'], ['tasks', 'list', '--json', '--help']]) {
      const r = await openmcp(...args);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.include(`Usage: openmcp ${args[0] === 'tasks' ? 'tasks list' : args[0]} `);
      expect(r.stdout + r.stderr).to.not.match(/^FAILED: |SDK_CONNECTION_FAILED/m);
    }
  });

  it("a client command's unknown option, missing argument or missing command exits 2 as well (was 1, a failed request's code)", async () => {
    for (const args of [['tasks', 'list', '--bogus'], ['tasks', 'show'], ['tasks'], ['bogus']]) {
      const r = await openmcp(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr).to.not.include('SDK_CONNECTION_FAILED');
    }
  });

  describe('a missing or contradictory option only the command can see exits 2 like a parser refusal, before doing anything; a failure while running stays 1', () => {
    // Nothing answers at either URL: a command that went on would fail otherwise (exit 1, SDK_CONNECTION_FAILED or the chain unreachable).
    const RPC = 'http://127.0.0.1:9';
    const KEY = `0x${'11'.repeat(32)}`;
    const ADDRESS = `0x${'22'.repeat(20)}`;
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'openmcp-usage-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    // The last field: true for the case that runs as bin/openmcp.
    const usage: Array<[string[], string, Record<string, string>?, boolean?]> = [
      [['contracts', 'deploy', '--rpc', RPC], 'contracts deploy needs --private-key or ANCHORER_PRIVATE_KEY', undefined, true],
      [['contracts', 'deploy', '--rpc', RPC, '--private-key', `0x${'0'.repeat(64)}`], 'contracts deploy: --private-key or ANCHORER_PRIVATE_KEY is not a secp256k1 private key'],
      [['contracts', 'deploy', '--rpc', RPC], 'contracts deploy: --private-key or ANCHORER_PRIVATE_KEY must be 0x and 64 hex digits', { ANCHORER_PRIVATE_KEY: '0x' }],
      [['contracts', 'deploy', '--rpc', RPC, '--private-key', KEY, '--admin', '0x1234'], '--admin must be an address (0x and 40 hex digits), got 0x1234'],
      [['contracts', 'deploy', '--rpc', RPC, '--private-key', KEY, '--anchorer', 'nobody'], '--anchorer must be an address (0x and 40 hex digits), got nobody'],
      [['contracts', 'deploy', '--rpc', RPC, '--private-key', KEY, '--admin-delay', '1y'], '--admin-delay must be seconds, or a whole number with s, m, h or d, at most 30d (2592000 s), got 1y'],
      [['contracts', 'deploy', '--rpc', RPC, '--private-key', KEY, '--confirmations', '65'], '--confirmations must be a whole number of blocks from 0 to 64 (0 counts as 1), got 65'],
      // Not given on the command line: the setting it came from is named (it said --confirmations).
      [['contracts', 'deploy', '--rpc', RPC, '--private-key', KEY], 'CHAIN_CONFIRMATIONS (the default of --confirmations) must be a whole number of blocks from 0 to 64 (0 counts as 1), got three', { CHAIN_CONFIRMATIONS: 'three' }],
      [['contracts', 'admin', 'cancel', '--rpc', RPC, '--contract', ADDRESS], 'contracts admin cancel needs the key in --private-key-file FILE (or --private-key)'],
      [['contracts', 'admin', 'accept', '--rpc', RPC, '--contract', ADDRESS, '--private-key', KEY, '--private-key-file', 'key.txt'], 'give the key in --private-key or in --private-key-file, not both'],
      [['contracts', 'admin', 'status', '--rpc', RPC, '--contract', '0x12'], '--contract must be an address (0x and 40 hex digits), got 0x12'],
      [['contracts', 'admin', 'begin', `0x${'0'.repeat(40)}`, '--rpc', RPC, '--contract', ADDRESS, '--private-key', KEY], `<new-admin> must be a non-zero address (0x and 40 hex digits), got 0x${'0'.repeat(40)}`],
      [['mcp', 'servers', 'add', 'files', '--transport', 'http'], 'give the server: a command after -- (stdio), or --url (streamable HTTP or SSE)', undefined, true],
      [['mcp', 'servers', 'add', 'files', '--transport', 'sse', '--', 'node', 'server.js'], '--transport sse needs --url'],
      [['mcp', 'servers', 'add', 'files', '--url', 'http://127.0.0.1:9/mcp', '--', 'node', 'server.js'], 'give either a command (after --) or --url, not both'],
      [['mcp', 'servers', 'add', 'files', '--url', 'http://127.0.0.1:9/mcp', '--env', 'A=${env:A}'], '--env is for stdio servers (a remote server has its own environment)'],
      [['mcp', 'servers', 'add', 'files', '--header', 'Authorization: Bearer ${env:T}', '--', 'node', 'server.js'], '--header is for servers given by --url'],
      [['mcp', 'servers', 'add', 'files', '--url', 'http://127.0.0.1:9/mcp', '--header', 'no colon'], "--header \"no colon\": expected 'Name: value'"],
      [['mcp', 'servers', 'add', 'files', '--env', 'TOKEN=plain', '--', 'node', 'server.js'], "--env TOKEN: give the value by reference to an environment variable of the gateway, in single quotes: --env 'TOKEN=${env:TOKEN}'"],
      [['keys', 'set-agents', 'key-1'], 'give the whole new list with --agent A (repeatable), or --all for any agent; one of them, not both'],
      [['mcp', 'stdio'], 'mcp stdio needs --key or OPENMCP_API_KEY', { OPENMCP_API_KEY: '' }, true],
      [['projections', 'rebuild', 'bogus'], 'projection "bogus" is unknown; one of: ', undefined, true],
    ];
    for (const [args, message, env, real] of usage) {
      const [run, how] = by(real);
      it(`openmcp ${args.join(' ')}${env ? ` (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}${how}: exit 2, "error: …" and the command's help`, async () => {
        const r = await run(args, { DATA_DIR: dir, ...env });
        expect(r.status, r.stderr).to.equal(2);
        expect(r.stderr).to.include('error: ').and.include(message);
        expect(r.stderr, 'in the parser refusals\' style, not a failed request\'s').to.not.include('VALIDATION_FAILED');
        expect(r.stderr, "followed by the command's help, as a parser refusal is").to.include('Usage: openmcp ');
        expect(r.stdout + r.stderr).to.not.match(/SDK_CONNECTION_FAILED|ECONNREFUSED/);
      });
    }

    it('a failure while running stays exit 1: the gateway or chain unreachable, a key file that cannot be read (bin/openmcp for the first)', async () => {
      const unreadable = await realProcess(['contracts', 'admin', 'cancel', '--rpc', RPC, '--contract', ADDRESS, '--private-key-file', join(dir, 'missing.key')]);
      expect(unreadable.status, unreadable.stderr).to.equal(1);
      expect(unreadable.stderr).to.include('cannot be read (ENOENT)');
      const request = await openmcp('mcp', 'servers', 'add', 'files', '--url', 'http://127.0.0.1:9/mcp');
      expect(request.status, request.stderr).to.equal(1);
      expect(request.stderr).to.include('SDK_CONNECTION_FAILED');
      writeFileSync(join(dir, 'bad.key'), 'not a key');
      const content = await openmcp('contracts', 'admin', 'cancel', '--rpc', RPC, '--contract', ADDRESS, '--private-key-file', join(dir, 'bad.key'));
      expect(content.status, content.stderr).to.equal(1);
    });
  });

  // docs/interfaces.md, "Client commands: the gateway and the key", names the commands that talk to a running gateway; `openmcp --help` left `batches` out,
  // though `batches export` reaches the gateway as the others do (its own --help says so).
  it('openmcp --help names every client of a running gateway, batches included, as docs/interfaces.md does', async () => {
    const r = await openmcp('--help');
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include('keys, subjects, tasks, tool-calls, events, batches, mcp servers and mcp tools are clients of a running gateway.');
    expect((await openmcp('batches', 'export', '--help')).stdout).to.include('The gateway is reached at OPENMCP_URL');
  });
});
