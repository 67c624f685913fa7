import type { Config } from '../config';
import { startOpenMcp, type OpenMcp, type StartOptions } from '../main';
import type { McpGateway } from '../mcp/gateway';

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
 * no drain and no exit code. `start` is startOpenMcp but in tests.
 */
export async function runStart(config: Config, start: (config: Config, options: StartOptions) => Promise<Pick<OpenMcp, 'drain'>> = startOpenMcp): Promise<void> {
  let gw: Pick<OpenMcp, 'drain'> | undefined;
  let upstreams: Pick<McpGateway, 'killUpstreams'> | undefined;
  // Whatever way the process ends (the drain's deadline, a second signal, also before the start
  // is done), no stdio upstream it started outlives it still running a call: a drain that
  // finishes has closed them already.
  process.once('exit', () => upstreams?.killUpstreams());
  let stopping = false;
  /** Set once the process has been free to take signals for REPEAT_WINDOW_MS since the first. */
  let repeatIsSecond = false;
  const stop = (signal: string) => {
    if (stopping) {
      // Ctrl-C reaches this process twice at once: from the terminal (the whole foreground
      // process group) and relayed by `npm start`. Only a signal sent later means "now".
      if (!repeatIsSecond) return;
      console.error(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    const since = Date.now();
    // The window is the event loop's, not the clock's: a start holds the loop at times (loading
    // modules, synchronous SQLite work), and npm's copy delivered meanwhile is only taken after,
    // in the loop's poll phase, past a timer due by then; the setImmediate runs after that phase.
    setTimeout(() => setImmediate(() => (repeatIsSecond = true)), REPEAT_WINDOW_MS).unref();
    console.log(`${signal}: draining${gw ? '' : ' once the start is done'} (deadline ${config.SHUTDOWN_DEADLINE_MS} ms)`);
    setTimeout(() => {
      console.error(`shutdown deadline (SHUTDOWN_DEADLINE_MS=${config.SHUTDOWN_DEADLINE_MS}) passed: exiting`);
      process.exit(1);
    }, config.SHUTDOWN_DEADLINE_MS).unref();
    started.then(
      (running) =>
        // What is left of the deadline: the drain shares it out (the agent's half first).
        running.drain(Math.max(0, config.SHUTDOWN_DEADLINE_MS - (Date.now() - since))).then(
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
  const started = start(config, { onGateway: (gateway) => (upstreams = gateway) });
  gw = await started;
}
