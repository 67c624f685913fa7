import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export type KurrentFakeProcess = { url: string; child: ChildProcess; stop(): Promise<void> };

/** Start the KurrentDB fake as a child process, so many `openmcp start` processes share one log. */
export async function startKurrentFakeProcess(): Promise<KurrentFakeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'cli.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`KurrentDB fake exited early (${code})`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
