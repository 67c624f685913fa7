import type { Config } from '../config';
import { startOpenMcp } from '../main';

/**
 * `openmcp start`: run until SIGINT/SIGTERM, then drain (OpenMcp.drain): /readyz turns 503,
 * every role stops taking work, finishes or hands back what it holds and commits its
 * checkpoints, in-flight appends commit (so nothing acknowledged is lost), stores close.
 * SHUTDOWN_DEADLINE_MS bounds it: past the deadline the process exits (code 1) with whatever
 * is left unfinished, which the next start or another process resumes. A second signal exits at once.
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
    console.log(`${signal}: draining (deadline ${config.SHUTDOWN_DEADLINE_MS} ms)`);
    setTimeout(() => {
      console.error(`shutdown deadline (SHUTDOWN_DEADLINE_MS=${config.SHUTDOWN_DEADLINE_MS}) passed: exiting`);
      process.exit(1);
    }, config.SHUTDOWN_DEADLINE_MS).unref();
    gw.drain(config.SHUTDOWN_DEADLINE_MS).then(
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
