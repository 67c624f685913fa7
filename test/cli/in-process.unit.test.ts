import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openmcpInProcess } from '../support/openmcp-in-process';

const BIN = join(__dirname, '../../bin/openmcp');
// Nothing answers at either URL, and no configuration file: every command below ends before reaching anything.
const ENV = { ANCHOR_CONTRACT: '', ANCHORER_PRIVATE_KEY: '', CHAIN_RPC_URL: '', OPENMCP_CONFIG: '', OPENMCP_URL: 'http://127.0.0.1:9', OPENMCP_API_KEY: 'omk_whatever_whatever' };
const RPC = 'http://127.0.0.1:9';
const ADDRESS = `0x${'22'.repeat(20)}`;

/**
 * Tests of what a command does run it in process (test/support/openmcp-in-process.ts) rather than as
 * `bin/openmcp`: it must come out as the real command's would, byte for byte, whichever way the
 * command ends (process.exit from the parser, process.exitCode from a verdict, a thrown error).
 */
describe('openmcp in process: the same exit code, stdout and stderr as bin/openmcp', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'openmcp-in-process-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Array<[string, () => string[]]> = [
    ['--version (exit 0, stdout)', () => ['--version']],
    ["a parser refusal (commander's process.exit, 2)", () => ['tasks', 'list', '--version']],
    ["a refusal once the command ran (UsageError: the command's help on stderr, 2)", () => ['contracts', 'deploy', '--rpc', RPC]],
    ['a failure while running (a thrown error, 1)', () => ['contracts', 'admin', 'cancel', '--rpc', RPC, '--contract', ADDRESS, '--private-key-file', join(dir, 'missing.key')]],
    ['a verdict (process.exitCode, 2: nothing checked)', () => ['verify', join(dir, 'missing.json'), '--rpc', RPC, '--contract', ADDRESS]],
  ];
  for (const [what, args] of cases) {
    it(what, async () => {
      const real = spawnSync(process.execPath, [BIN, ...args()], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...ENV } });
      const inProcess = await openmcpInProcess(args(), ENV);
      expect(inProcess).to.deep.equal({ status: real.status, stdout: real.stdout, stderr: real.stderr });
    });
  }

  // Tests run the CLI against a gateway in this same process: what the gateway (or anything else
  // of the test process) writes while the command runs is not the command's output, which a test
  // compares whole (`to.equal('')`, a JSON line per line), and it still reaches the real stream.
  it("writes of the rest of the process while the command runs (an in-process gateway's) are not the command's", async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      process.stdout.write(`gateway stdout: ${req.method} ${req.url}\n`);
      process.stderr.write(`gateway stderr: ${req.method} ${req.url}\n`);
      console.error('gateway console.error');
      res.writeHead(503, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'about:blank', title: 'down', status: 503, code: 'DEPENDENCY_UNAVAILABLE', detail: 'down' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const passedOn: string[] = [];
    const { out, err } = { out: process.stdout.write, err: process.stderr.write };
    const spy = (chunk: string | Uint8Array) => (passedOn.push(String(chunk)), true);
    process.stdout.write = spy as typeof process.stdout.write;
    process.stderr.write = spy as typeof process.stderr.write;
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await openmcpInProcess(['tasks', 'list'], { ...ENV, OPENMCP_URL: url });
      expect(passedOn.join(''), 'the gateway reached').to.include('gateway stdout: GET /v1/tasks');
      expect(r.stdout + r.stderr, "the gateway's lines are not the command's").to.not.include('gateway');
      expect(r.status, 'the command failed as its own (503)').to.equal(1);
      expect(r.stderr).to.include('DEPENDENCY_UNAVAILABLE');
    } finally {
      process.stdout.write = out;
      process.stderr.write = err;
      await new Promise((r) => server.close(r));
    }
    // (the client retries a 503: three lines per request)
    expect(passedOn.filter((l) => l.startsWith('gateway')), 'each line reached the real stream').to.have.length(3 * requests);
  });

  it('leaves process.exit, process.exitCode, the output streams and the environment as they were', async () => {
    const mochas = process.exitCode;
    // A value no command sets: restored, not reset (a run before this one that left 2 behind hid a missing restore).
    process.exitCode = 7;
    try {
      const before = { exit: process.exit, exitCode: process.exitCode, out: process.stdout.write, err: process.stderr.write, url: process.env.OPENMCP_URL };
      await openmcpInProcess(['tasks', 'list', '--version'], ENV);
      await openmcpInProcess(['verify', join(dir, 'missing.json'), '--rpc', RPC, '--contract', ADDRESS], ENV);
      expect({ exit: process.exit, exitCode: process.exitCode, out: process.stdout.write, err: process.stderr.write, url: process.env.OPENMCP_URL }).to.deep.equal(before);
    } finally {
      process.exitCode = mochas;
    }
  });
});
