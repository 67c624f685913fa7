import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';

export type GatewayProcess = {
  url: string;
  dataDir: string;
  chainPort: number;
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the exit code, its output all read. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

const ROOT = join(__dirname, '..', '..');

/**
 * Run `openmcp start` as a real child process on free ports with its own DATA_DIR, and resolve
 * once it prints its address. Pass `dataDir` to restart on the same data.
 *
 * A port free a moment ago can be taken before the child listens (by another test file's
 * connection, given it as an ephemeral port): the start then refuses it before it makes anything
 * (`PORT` / `CHAIN_PORT` … is already in use), and it is started again on other ports, twice at most:
 * only the ports picked here (a CHAIN_PORT the caller fixed, for files naming the chain's URL, is kept).
 */
export async function startGatewayProcess(env: Record<string, string> = {}, dataDir?: string): Promise<GatewayProcess> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'omc-e2e-'));
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(env, dir);
    } catch (err) {
      // Tried again only when every port the start names as taken is one picked here, not one the caller fixed.
      const line = /^openmcp: CONFIG_INVALID: .* (?:is|are) already in use/m.exec((err as Error).message)?.[0];
      const taken = line ? [...line.matchAll(/\b(PORT|CHAIN_PORT): \S+/g)].map((m) => m[1] as 'PORT' | 'CHAIN_PORT') : [];
      if (!taken.length || attempt === 3 || taken.some((name) => env[name] !== undefined)) throw err;
    }
  }
}

async function startOnce(env: Record<string, string>, dir: string): Promise<GatewayProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const chainPort = env.CHAIN_PORT ? Number(env.CHAIN_PORT) : await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'openmcp'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dir, PORT: String(port), CHAIN_PORT: String(chainPort), LOG_LEVEL: 'warn', BATCH_MAX_SECONDS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  // 'close', not 'exit': after 'exit' its last lines (the drain's deadline, a fatal error) may be unread.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in time:\n${out}`)), 90_000);
    const check = () => {
      if (/listening on/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir: dir,
    chainPort,
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
