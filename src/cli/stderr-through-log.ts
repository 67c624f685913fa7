import type { DestinationStream } from 'pino';

/**
 * Sends every later write to process.stderr into `dest` (the log's bounded destination on fd 2,
 * stdoutLogDestination): console.error and console.warn, a dependency's (the MCP SDK logs with
 * console.error) as ours, and Node's own warnings (printed through console.error). An MCP host
 * that never reads `mcp stdio`'s stderr would otherwise have them queued in memory without bound;
 * through `dest` they share LOG_BUFFER_MAX_BYTES with the log, what does not fit dropped and
 * counted as its lines are. The rest of the process's life: called once, at the command's start,
 * by the process that runs only it (never in a process that writes stderr for something else).
 * Requires `dest` writing to fd 2 itself (its notes go straight to fd 2, not through here).
 * @example stderrThroughLog(stdoutLogDestination({ fd: 2 }))
 */
export function stderrThroughLog(dest: DestinationStream): void {
  const write = (chunk: string | Uint8Array, encoding?: BufferEncoding | WriteCallback, done?: WriteCallback): boolean => {
    const callback = typeof encoding === 'function' ? encoding : done;
    const text = typeof chunk === 'string' ? (typeof encoding === 'string' && encoding !== 'utf8' ? Buffer.from(chunk, encoding).toString() : chunk) : Buffer.from(chunk).toString();
    // Looked up at each write: a destination whose reader is gone replaces its write.
    dest.write(text);
    // Taken (or dropped): never backpressure, the bound is dest's.
    if (callback) process.nextTick(callback);
    return true;
  };
  process.stderr.write = write as typeof process.stderr.write;
}

type WriteCallback = (err?: Error | null) => void;
