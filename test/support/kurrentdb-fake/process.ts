import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startFixtureProcess } from '../fixture-process';

export type KurrentFakeProcess = { url: string; child: ChildProcess; stop(): Promise<void> };

/** Start the KurrentDB fake as a child process, so many `openmcp start` processes share one log. */
export async function startKurrentFakeProcess(): Promise<KurrentFakeProcess> {
  const p = await startFixtureProcess<{ url: string }>('KurrentDB fake', join(__dirname, 'cli.ts'));
  return { url: p.info.url, child: p.child, stop: p.stop };
}
