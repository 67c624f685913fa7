import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startFixtureProcess } from '../fixture-process';

export type BrokerProcess = { brokers: string[]; child: ChildProcess; stop(): Promise<void> };

/** Start the test broker as a child process (so a client's load does not share its event loop). */
export async function startBrokerProcess(args: string[] = []): Promise<BrokerProcess> {
  const p = await startFixtureProcess<{ brokers: string[] }>('kafka test broker', join(__dirname, 'cli.ts'), args);
  return { brokers: p.info.brokers, child: p.child, stop: p.stop };
}
