import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export type BrokerProcess = { brokers: string[]; child: ChildProcess; stop(): Promise<void> };

/** Start the test broker as a child process (so a client's load does not share its event loop). */
export async function startBrokerProcess(args: string[] = []): Promise<BrokerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'cli.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`kafka test broker exited early (${code})`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const { brokers } = JSON.parse(line) as { brokers: string[] };
  return {
    brokers,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
