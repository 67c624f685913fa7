import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import pino from 'pino';
import { stdioLogger } from '../../src/cli/mcp-stdio';
import { askLogChild, type LogState as State } from './fixtures/ask-log-child';

const ON_REQUEST = join(__dirname, 'fixtures', 'log-on-request.ts');

/** log-on-request.ts logging to fd 2 (as `openmcp mcp stdio`) with a queue of `maxBytes`; its stderr a pipe read only once asked. */
function logToStderr(maxBytes: number) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ON_REQUEST, String(maxBytes), '2'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  // Never read until read() (an MCP host that does not drain the server's stderr).
  child.stderr!.pause();
  let stderr = '';
  const read = () => {
    child.stderr!.on('data', (d) => (stderr += String(d)));
    child.stderr!.resume();
  };
  const { ask, exit } = askLogChild(child);
  return { child, ask, read, exit, stderr: () => stderr };
}

async function poll(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 50));
}

/** docs/operations.md "Observability" (Logs): `openmcp mcp stdio` logs to stderr, within LOG_BUFFER_MAX_BYTES too. */
describe('the JSON log on stderr (openmcp mcp stdio): a bounded queue for a host that does not read it', function () {
  this.timeout(120_000);
  const MAX = 64 * 1024;
  const running: Array<ReturnType<typeof logToStderr>> = [];
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.child.stderr?.resume();
      await r.exit();
    }
  });

  it('mcp stdio logs through it: fd 2, LOG_BUFFER_MAX_BYTES its bound (was process.stderr: a queue without bound)', () => {
    const logger = stdioLogger({ LOG_LEVEL: 'info', LOG_BUFFER_MAX_BYTES: 131_072 });
    const stream = (logger as unknown as Record<symbol, { fd?: number; maxLength?: number }>)[pino.symbols.streamSym];
    expect(stream.fd, 'fd').to.equal(2);
    expect(stream.maxLength, 'maxLength').to.equal(131_072);
    // Quieter than start's: warn where LOG_LEVEL says info, as before.
    expect(logger.level).to.equal('warn');
    expect(stdioLogger({ LOG_LEVEL: 'debug', LOG_BUFFER_MAX_BYTES: 131_072 }).level).to.equal('debug');
  });

  it('stderr never read: the queue stays within its bound, the lines past it counted; once read, the log flows again, saying how many were dropped', async () => {
    const run = logToStderr(MAX);
    running.push(run);
    let s: State | undefined;
    for (let i = 0; i < 10; i++) {
      s = await run.ask({ log: MAX / 1024 });
      expect(s.queued, 'bytes queued').to.be.at.most(MAX);
    }
    expect(s!.dropped.queue_full, 'lines dropped').to.be.greaterThan(0);
    run.read();
    const ends = () => [...run.stderr().matchAll(/openmcp: log lines to stderr flow again: (\d+) lines were dropped/g)].map((m) => Number(m[1]));
    const total = s!.dropped.queue_full;
    await poll(() => ends().reduce((a, b) => a + b, 0) >= total);
    expect(ends().reduce((a, b) => a + b, 0), run.stderr().slice(-500)).to.equal(total);
    await run.ask({ log: 1, tag: 'after' });
    await poll(() => run.stderr().includes('"tag":"after"'));
    // Whole JSON lines, the notes being lines of their own (never written into a line under way).
    for (const line of run.stderr().trim().split('\n')) {
      if (line.startsWith('openmcp: ')) continue;
      expect(() => JSON.parse(line), line.slice(0, 200)).not.to.throw();
    }
    expect(await run.exit()).to.equal(0);
  });

  it('stderr never read, then the process exits: it does, not hung on the full pipe', async () => {
    const run = logToStderr(MAX);
    running.push(run);
    for (let i = 0; i < 4; i++) await run.ask({ log: MAX / 1024 });
    expect(await run.exit()).to.equal(0);
  });
});
