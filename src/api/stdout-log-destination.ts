import { writeSync } from 'node:fs';
import pino, { type DestinationStream } from 'pino';
import type { LogLossReason } from '../metrics/log-lines-dropped';

/**
 * The parts of sonic-boom (pino's destination) read below: a utf8 stream's queue (`_len` its bytes,
 * the chunk being written included). Not its API: sonic-boom 4.2 (package-lock.json). No public
 * option bounds its flushSync on EPIPE (it retries every error but EAGAIN/EBUSY, retryEAGAIN is
 * asked only about those), nor drops the chunk a write failed on (left in place, it is written
 * again with the next line, failing again), hence this.
 */
type SonicBoomQueue = { fd: number; destroyed: boolean; _writing: boolean; _writingBuf: string | Buffer; _bufs: (string | Buffer)[]; _len: number };

/**
 * Whether `dest` holds its queue as the exit flush and a failed write's handling read it. A
 * sonic-boom that does not (another version) gets its own flushSync back, as plain pino, and any
 * failed write ends its log: test/api/stdout-log-destination fails first.
 */
export function hasKnownQueue(dest: unknown): dest is SonicBoomQueue {
  const d = dest as Partial<SonicBoomQueue>;
  const chunk = (b: unknown) => typeof b === 'string' || Buffer.isBuffer(b);
  return typeof d.fd === 'number' && typeof d.destroyed === 'boolean' && typeof d._writing === 'boolean' && chunk(d._writingBuf) && Array.isArray(d._bufs) && d._bufs.every(chunk) && typeof d._len === 'number';
}

/** Tries of a write into a full pipe at exit (EAGAIN, its reader alive but not reading), 100 ms apart. */
const FULL_PIPE_TRIES = 10;

/** Wait after a failed write before the lines still queued are written (sonic-boom's own, for EAGAIN). */
const RETRY_AFTER_MS = 100;

/** LOG_BUFFER_MAX_BYTES's default: bytes of log lines held for a stdout that does not take them. */
export const DEFAULT_LOG_BUFFER_MAX_BYTES = 16 * 1024 * 1024;

export type StdoutLogDestinationParameters = {
  /**
   * The file descriptor the log goes to: 1, stdout (`openmcp start`), or 2, stderr (`openmcp mcp
   * stdio`, whose stdout carries the protocol). Default 1.
   */
  fd?: 1 | 2;
  /** Bytes of lines held while stdout does not take them (LOG_BUFFER_MAX_BYTES); a line past them is dropped. */
  maxQueuedBytes?: number;
  /**
   * Says a change in the log's fate, a line without newline. Default: straight to fd 2; for a log
   * on fd 2 itself, only between its writes (never into a line one has under way), so a note that
   * a full stderr is dropping lines is seldom said, but the one saying how many when it flows again is.
   */
  note?: (line: string) => void;
  /** Told each time lines are lost, and why (openmcp_log_lines_dropped_total). */
  onLinesLost?: (reason: LogLossReason, lines: number) => void;
};

/**
 * The JSON log's destination on stdout (or stderr, `fd: 2`, for `mcp stdio`): pino's own
 * (asynchronous, flushed as the process exits), made safe for a stdout that does not take the lines. Lines are lost, never the process; each
 * lost line is counted (`onLinesLost`), and a spell of losing is said on `note` (stderr) as it
 * starts (and as another cause first costs lines in it) and once as it ends, with how many were
 * lost (docs/operations.md, "Observability": Logs):
 * - A reader that stays but does not read (a stuck `| tee`, a log shipper whose pipe is full):
 *   the lines wait in memory up to `maxQueuedBytes`; lines past it are dropped (`queue_full`,
 *   sonic-boom's maxLength) until the queue is written out.
 * - A write that fails (ENOSPC or EFBIG on a file, EIO…): the lines of that write are dropped
 *   (`write_error`), the rest written with the next line logged or 100 ms later; the log flows
 *   again once writes succeed.
 * - A reader gone (EPIPE: `openmcp start | tee log` whose tee dies): it does not come back on
 *   this pipe, so logging ends (`reader_gone`, every line from then on), the process going on.
 *
 * The exit flush (sonic-boom's flushSync, run from process.on('exit') while a write is still under
 * way) retries every write that fails, EPIPE included, every 100 ms, forever: the process then hangs
 * in its exit handlers, deaf to every signal but SIGKILL. Here it gives up on a write that cannot
 * succeed, and on a full pipe after FULL_PIPE_TRIES. Notes are written straight to fd 2, not through
 * process.stderr, whose write into a pipe gone as well (`2>&1 | tee`) is an 'error' nobody handles.
 *
 * A sonic-boom whose queue is not as hasKnownQueue expects (another version) ends the log on any
 * failed write instead, as before.
 *
 * @example createLogger('info') // pino(options, stdoutLogDestination())
 */
export function stdoutLogDestination(p: StdoutLogDestinationParameters = {}): DestinationStream {
  const maxQueuedBytes = p.maxQueuedBytes ?? DEFAULT_LOG_BUFFER_MAX_BYTES;
  const fd = p.fd ?? 1;
  const out = fd === 2 ? 'stderr' : 'stdout';
  // Node opens a pipe behind process.stdout/stderr non-blocking, as it first reads the property: a
  // write into a full pipe then fails EAGAIN instead of blocking (the exit flush, a note on fd 2).
  // Left untouched (nothing else logs there), fd 2 of `mcp stdio` would stay blocking: a host that
  // never reads it would hang the process at exit.
  void (fd === 2 ? process.stderr : process.stdout);
  const dest = pino.destination({ dest: fd, sync: false, maxLength: maxQueuedBytes });
  const noteOnFd2 = (l: string) => {
    if (fd === 2 && hasKnownQueue(dest) && dest._writing) return;
    writeSync(2, `${l}\n`);
  };
  const say = (line: string) => {
    try {
      (p.note ?? noteOnFd2)(line);
    } catch {
      // stderr gone as well: nothing left to say it on.
    }
  };
  // `mcp stdio` serves no /metrics: its notes, with the count when the log flows again, are all there is.
  const counted = p.onLinesLost ? 'counted in openmcp_log_lines_dropped_total, ' : '';
  const count = (reason: LogLossReason, lines: number) => {
    if (lines > 0) p.onLinesLost?.(reason, lines);
  };
  let ended = false;
  /** Lines lost since the spell of losing began; undefined while the log flows. */
  let losing: number | undefined;
  /** The causes said in this spell: each said once as it first costs lines (a full disk in a spell a slow reader began). */
  const said = new Set<string>();
  const lose = (reason: 'queue_full' | 'write_error', lines: number, why: string) => {
    count(reason, lines);
    if (!said.has(why)) say(`openmcp: log lines to ${out} are being dropped: ${why}; ${counted}the process goes on (docs/operations.md, "Observability": Logs)`);
    said.add(why);
    losing = (losing ?? 0) + lines;
  };
  const end = (err: NodeJS.ErrnoException, linesLeft: number) => {
    if (ended) return;
    ended = true;
    count('reader_gone', linesLeft);
    // Every later line is lost too, and counted: the lines pino writes are one a write.
    dest.write = (line: string) => (count('reader_gone', newlines(line)), true);
    dest.flushSync = () => {};
    say(`openmcp: log lines to ${out} are lost from now on: writing them failed (${err.code ?? err.message}); ${counted}the process goes on (docs/operations.md, "Observability": Logs)`);
  };
  dest.on('drop', (line: string) =>
    lose('queue_full', newlines(line), `${out} is not taking them (a reader that does not read?) and ${maxQueuedBytes} bytes of them wait already (LOG_BUFFER_MAX_BYTES)`),
  );
  // The queue written out: lines flow again.
  dest.on('drain', () => {
    if (losing === undefined || ended) return;
    say(`openmcp: log lines to ${out} flow again: ${losing} lines were dropped`);
    losing = undefined;
    said.clear();
  });
  // pino's own listener drops lines after EPIPE and throws any other write error out of the
  // process: this one takes its place.
  dest.removeAllListeners('error');
  dest.on('error', (err: NodeJS.ErrnoException) => {
    if (ended) return;
    if (!hasKnownQueue(dest)) return end(err, 0);
    if (err.code === 'EPIPE') {
      const queued = [dest._writingBuf, ...dest._bufs];
      dest._bufs = [];
      dest._writingBuf = '';
      dest._len = 0;
      return end(err, queued.reduce((n, b) => n + newlines(b), 0));
    }
    lose('write_error', dropFailedChunk(dest), `writing them failed (${err.code ?? err.message})`);
    setTimeout(() => {
      // A line logged meanwhile has restarted writing already; write('') starts it otherwise.
      if (!ended && !dest.destroyed && !dest._writing && dest._len > 0) dest.write('');
    }, RETRY_AFTER_MS).unref();
  });
  const ownFlushSync = dest.flushSync.bind(dest);
  dest.flushSync = () => {
    if (ended) return;
    if (hasKnownQueue(dest)) return flushGivingUp(dest, end);
    try {
      ownFlushSync();
    } catch (err) {
      end(err as NodeJS.ErrnoException, 0);
    }
  };
  return dest;
}

/** What ends a line a failed write cut, written before the lines after it. Never a chunk of pino's: its lines are JSON. */
const CUT_END = '\n';

/**
 * Drops the chunk a write failed on (sonic-boom stopped writing, it in _writingBuf): how many
 * lines were in it. A chunk is a Buffer there only once a write took part of it: the line cut
 * then gets CUT_END first, or the next line would be written onto it, the two no JSON line (the
 * second lost uncounted). When CUT_END fails in turn, it stays first and the next chunk is dropped.
 */
function dropFailedChunk(dest: SonicBoomQueue): number {
  if (dest._writingBuf === CUT_END) {
    const next = dest._bufs.shift() ?? '';
    dest._len = Math.max(dest._len - Buffer.byteLength(next), 0);
    return newlines(next);
  }
  const failed = dest._writingBuf;
  dest._writingBuf = Buffer.isBuffer(failed) && failed.length > 0 ? CUT_END : '';
  dest._len = Math.max(dest._len - Buffer.byteLength(failed), 0) + dest._writingBuf.length;
  return newlines(failed);
}

/** How many lines `chunk` ends (pino's lines end with a newline; a line cut by a partial write counts once, with its end). */
function newlines(chunk: string | Buffer): number {
  let n = 0;
  for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) n++;
  return n;
}

/** What sonic-boom's flushSync does (write out the queued lines at once), but bounded. */
function flushGivingUp(dest: SonicBoomQueue, end: (err: NodeJS.ErrnoException, linesLeft: number) => void): void {
  if (dest.destroyed || dest.fd < 0) return;
  // A write under way (the thread pool's) finishes on its own or not at all; the rest is queued.
  // The chunk a write left half done is a Buffer.
  const queued = [...(dest._writing ? [] : [dest._writingBuf]), ...dest._bufs];
  dest._bufs = [];
  dest._writingBuf = '';
  dest._len = 0;
  let rest = Buffer.concat(queued.map((b) => (typeof b === 'string' ? Buffer.from(b) : b)));
  for (let tries = 0; rest.length > 0; ) {
    try {
      rest = rest.subarray(writeSync(dest.fd, rest));
      tries = 0;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EAGAIN' && code !== 'EBUSY') || ++tries >= FULL_PIPE_TRIES) return end(err as NodeJS.ErrnoException, newlines(rest));
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}
