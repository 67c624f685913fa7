import { writeSync } from 'node:fs';
import pino, { type DestinationStream } from 'pino';

/**
 * The parts of sonic-boom (pino's destination) the exit flush below reads: a utf8 stream's queue.
 * Not its API: sonic-boom 4.2 (package-lock.json). No public option bounds its flushSync on EPIPE
 * (it retries every error but EAGAIN/EBUSY, retryEAGAIN is asked only about those), hence this.
 */
type SonicBoomQueue = { fd: number; destroyed: boolean; _writing: boolean; _writingBuf: string | Buffer; _bufs: (string | Buffer)[] };

/**
 * Whether `dest` holds its queue as the exit flush reads it. A sonic-boom that does not (another
 * version) gets its own flushSync back, as plain pino: test/api/stdout-log-destination fails first.
 */
export function hasKnownQueue(dest: unknown): dest is SonicBoomQueue {
  const d = dest as Partial<SonicBoomQueue>;
  const chunk = (b: unknown) => typeof b === 'string' || Buffer.isBuffer(b);
  return typeof d.fd === 'number' && typeof d.destroyed === 'boolean' && typeof d._writing === 'boolean' && chunk(d._writingBuf) && Array.isArray(d._bufs) && d._bufs.every(chunk);
}

/** Tries of a write into a full pipe at exit (EAGAIN, its reader alive but not reading), 100 ms apart. */
const FULL_PIPE_TRIES = 10;

/**
 * The JSON log's destination on stdout: pino's own (asynchronous, flushed as the process exits),
 * made safe for a stdout whose reader has gone (`openmcp start | tee log` whose tee dies, a log
 * shipper that stops): logging ends, said once on `note` (stderr), and the process goes on.
 *
 * pino already drops the lines after a write fails with EPIPE, but its exit flush (sonic-boom's
 * flushSync, run from process.on('exit') while a write is still under way) retries every write
 * that fails, EPIPE included, every 100 ms, forever: the process then hangs in its exit handlers,
 * deaf to every signal but SIGKILL. Here the exit flush gives up on a write that cannot succeed,
 * and on a full pipe after FULL_PIPE_TRIES. The note is written straight to fd 2, not through
 * process.stderr, whose write into a pipe gone as well (`2>&1 | tee`) is an 'error' nobody handles.
 *
 * @example createLogger('info') // pino(options, stdoutLogDestination())
 */
export function stdoutLogDestination(note: (line: string) => void = (line) => void writeSync(2, `${line}\n`)): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false });
  let lost = false;
  const lose = (err: NodeJS.ErrnoException) => {
    if (lost) return;
    lost = true;
    dest.write = () => true;
    dest.flushSync = () => {};
    try {
      note(`openmcp: log lines to stdout are lost from now on: writing them failed (${err.code ?? err.message}); the process goes on (docs/operations.md, "Observability": Logs)`);
    } catch {
      // stderr gone as well: nothing left to say it on.
    }
  };
  // pino's own listener drops lines after EPIPE and throws any other write error out of the
  // process; both end the log here, the process serving on.
  dest.on('error', lose);
  const ownFlushSync = dest.flushSync.bind(dest);
  dest.flushSync = () => {
    if (lost) return;
    if (hasKnownQueue(dest)) return flushGivingUp(dest, lose);
    try {
      ownFlushSync();
    } catch (err) {
      lose(err as NodeJS.ErrnoException);
    }
  };
  return dest;
}

/** What sonic-boom's flushSync does (write out the queued lines at once), but bounded. */
function flushGivingUp(dest: SonicBoomQueue, lose: (err: NodeJS.ErrnoException) => void): void {
  if (dest.destroyed || dest.fd < 0) return;
  // A write under way (the thread pool's) finishes on its own or not at all; the rest is queued.
  // The chunk a write left half done is a Buffer.
  const queued = [...(dest._writing ? [] : [dest._writingBuf]), ...dest._bufs];
  dest._bufs = [];
  dest._writingBuf = '';
  let rest = Buffer.concat(queued.map((b) => (typeof b === 'string' ? Buffer.from(b) : b)));
  for (let tries = 0; rest.length > 0; ) {
    try {
      rest = rest.subarray(writeSync(dest.fd, rest));
      tries = 0;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EAGAIN' && code !== 'EBUSY') || ++tries >= FULL_PIPE_TRIES) return lose(err as NodeJS.ErrnoException);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}
