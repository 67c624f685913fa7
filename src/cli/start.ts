import type { Config } from '../config';
import { startOpenMcp } from '../main';

/**
 * `openmcp start`: run until SIGINT/SIGTERM, then close in order — stop accepting requests,
 * let in-flight appends commit (so nothing acknowledged is lost), stop the roles, close stores.
 * A second signal exits at once.
 */
export async function runStart(config: Config): Promise<void> {
  const gw = await startOpenMcp(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: shutting down`);
    gw.close().then(
      () => process.exit(0),
      (err) => {
        console.error('shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
