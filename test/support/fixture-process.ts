import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type FixtureProcess<T> = { info: T; child: ChildProcess; stop(): Promise<void> };

/**
 * Run a test server's CLI (a .ts file) as a child process, so a client's load does not share its
 * event loop, and resolve with the JSON it prints on its first stdout line.
 */
export async function startFixtureProcess<T>(name: string, cliFile: string, args: string[] = []): Promise<FixtureProcess<T>> {
  const child = spawn(process.execPath, ['--import', 'tsx', cliFile, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited early (${code})`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  return {
    info: JSON.parse(line) as T,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
