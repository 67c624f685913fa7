/**
 * Run an `openmcp` command line in this process, through the same entry as `bin/openmcp`
 * (runOpenmcp): what it writes, and its exit code. Each real command is a cold start of node and tsx
 * (0.5 to 1.5 s of CPU), which tests of what a command does need not pay every time; a test of the
 * process itself (signals, a pipe closed, the process ending once done) runs `bin/openmcp`, and each
 * command family keeps at least one test that does.
 *
 * While it runs, process.env has `env` applied (a value of undefined removes the variable), the
 * command's writes to stdout and stderr are captured, and process.exit ends the command: as in a
 * real process, nothing written after it counts. The command's writes are those made from its own
 * asynchronous context (AsyncLocalStorage): what the rest of the process writes meanwhile (a gateway
 * the test runs in this process, a warning of another test's timer) goes to the real stream, not
 * into the command's output. Commands run one at a time (mocha runs a file's tests one after another).
 *
 * @example const r = await openmcpInProcess(['contracts', 'admin', 'status', '--rpc', url, '--contract', address]); // { status: 0, stdout: 'admin: 0x…', stderr: '' }
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { runOpenmcp } from '../../src/cli/main';

export type CommandResult = { status: number; stdout: string; stderr: string };

class ProcessExit extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

let running = false;
/** Set in the command's asynchronous context only: a write made elsewhere is not the command's. */
const command = new AsyncLocalStorage<true>();

export async function openmcpInProcess(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CommandResult> {
  if (running) throw new Error('openmcpInProcess: one command at a time (it replaces process.exit and the output streams)');
  running = true;
  const savedEnv = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const saved = { exit: process.exit, exitCode: process.exitCode, out: process.stdout.write, err: process.stderr.write };
  let stdout = '';
  let stderr = '';
  let exitCode: number | undefined;
  const capture = (append: (s: string) => void, real: typeof process.stdout.write, stream: NodeJS.WriteStream) =>
    function write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
      if (!command.getStore()) return (real as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
      if (exitCode === undefined) append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      const done = rest.find((r): r is (err?: Error) => void => typeof r === 'function');
      if (done) process.nextTick(done);
      return true;
    };
  try {
    for (const [k, v] of Object.entries(env)) setEnv(k, v);
    process.exitCode = undefined;
    process.stdout.write = capture((s) => (stdout += s), saved.out, process.stdout) as typeof process.stdout.write;
    process.stderr.write = capture((s) => (stderr += s), saved.err, process.stderr) as typeof process.stderr.write;
    process.exit = ((code?: number | string | null) => {
      exitCode ??= Number(code ?? process.exitCode ?? 0);
      throw new ProcessExit(exitCode);
    }) as typeof process.exit;
    try {
      await command.run(true, () => runOpenmcp(['node', 'openmcp', ...args]));
    } catch (err) {
      if (!(err instanceof ProcessExit)) throw err;
    }
    return { status: exitCode ?? Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.exit = saved.exit;
    process.exitCode = saved.exitCode;
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    for (const [k, v] of Object.entries(savedEnv)) setEnv(k, v);
    running = false;
  }
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
