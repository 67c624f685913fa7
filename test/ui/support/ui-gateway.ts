import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/free-port';
import { startGatewayProcess } from '../../support/gateway-process';

export type UiGateway = {
  url: string;
  rpcUrl: string;
  dataDir: string;
  adminKey: string;
  /** `openmcp start`, or scripts/ui-dev-server.ts while src/main.ts does not register the UI. */
  entry: 'openmcp start' | 'scripts/ui-dev-server.ts';
  output(): string;
  stop(): Promise<void>;
};

const ROOT = join(__dirname, '..', '..', '..');

/** Does the composition root serve the dashboard yet? (Then the real `openmcp start` is tested.) */
export function mainRegistersUi(): boolean {
  return /\buiPlugin\b/.test(readFileSync(join(ROOT, 'src', 'main.ts'), 'utf8'));
}

/**
 * A real gateway child process on free ports (own DATA_DIR, embedded SQLite and Hardhat chain),
 * serving /ui. `env` may fix CHAIN_PORT, so files naming the RPC URL can be written first.
 */
export async function startUiGateway(env: Record<string, string>): Promise<UiGateway> {
  const chainPort = env.CHAIN_PORT ? Number(env.CHAIN_PORT) : await freePort();
  const rpcUrl = `http://127.0.0.1:${chainPort}`;
  if (mainRegistersUi()) {
    const gw = await startGatewayProcess({ ...env, CHAIN_PORT: String(chainPort) });
    return {
      url: gw.url,
      rpcUrl,
      dataDir: gw.dataDir,
      adminKey: readFileSync(join(gw.dataDir, 'admin.key'), 'utf8').trim(),
      entry: 'openmcp start',
      output: gw.output,
      stop: async () => void (await gw.stop('SIGTERM')),
    };
  }
  console.warn('\n  !!! src/main.ts does not register uiPlugin yet: testing through scripts/ui-dev-server.ts (same start-up, plus the plugin).\n');
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'omc-ui-'));
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), join(ROOT, 'scripts', 'ui-dev-server.ts')], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', BATCH_MAX_SECONDS: '1', ...env, CHAIN_PORT: String(chainPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in time:\n${out}`)), 90_000);
    child.stdout!.on('data', () => /listening on/.test(out) && (clearTimeout(timer), resolve()));
    void exited.then((code) => (clearTimeout(timer), reject(new Error(`gateway exited with ${code}:\n${out}`))));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    rpcUrl,
    dataDir,
    adminKey: readFileSync(join(dataDir, 'admin.key'), 'utf8').trim(),
    entry: 'scripts/ui-dev-server.ts',
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
