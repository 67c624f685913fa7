import type { Config } from '../config';
import { startOpenMcp, type OpenMcp } from '../main';

/** A signal this soon after the first is the same one relayed (npm passes Ctrl-C on to its script). */
const REPEAT_WINDOW_MS = 1_000;

/**
 * `openmcp start`: run until SIGINT/SIGTERM, then drain (OpenMcp.drain): /readyz turns 503,
 * every role stops taking work, finishes or hands back what it holds and commits its
 * checkpoints, in-flight appends commit (so nothing acknowledged is lost), stores close.
 * SHUTDOWN_DEADLINE_MS bounds it: past the deadline the process exits (code 1) with whatever
 * is left unfinished, which the next start or another process resumes. A second signal (a second
 * Ctrl-C, more than a second after the first) exits at once.
 *
 * The signals are taken from the start on, not once it is done: a signal while it starts (or
 * just as it prints where it listens) drains as soon as the start is done, within the same
 * deadline, counted from the signal. Before, Node's default ended the process on the spot, with
 * no drain and no exit code.
 */
export async function runStart(config: Config): Promise<void> {
  let gw: OpenMcp | undefined;
  // Whatever way the process ends (the drain's deadline, a second signal), no stdio upstream it
  // started outlives it still running a call: a drain that finishes has closed them already.
  process.once('exit', () => gw?.gateway?.killUpstreams());
  let stoppingSince: number | undefined;
  const stop = (signal: string) => {
    if (stoppingSince !== undefined) {
      // Ctrl-C reaches this process twice at once: from the terminal (the whole foreground
      // process group) and relayed by `npm start`. Only a signal sent later means "now".
      if (Date.now() - stoppingSince < REPEAT_WINDOW_MS) return;
      console.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    console.log(`${signal}: draining${gw ? '' : ' once the start is done'} (deadline ${config.SHUTDOWN_DEADLINE_MS} ms)`);
    setTimeout(() => {
      console.error(`shutdown deadline (SHUTDOWN_DEADLINE_MS=${config.SHUTDOWN_DEADLINE_MS}) passed: exiting`);
      process.exit(1);
    }, config.SHUTDOWN_DEADLINE_MS).unref();
    started.then(
      (running) =>
        running.drain(config.SHUTDOWN_DEADLINE_MS).then(
          () => process.exit(0),
          (err) => {
            console.error('shutdown failed', err);
            process.exit(1);
          },
        ),
      // A start that fails is reported by the caller (below), as without a signal.
      () => {},
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const started = startOpenMcp(config);
  gw = await started;
}
