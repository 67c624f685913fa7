import { cancelledError, McpGatewayError } from './errors';

/**
 * Per-upstream concurrency limit: at most `max` calls in flight, at most `maxQueue` waiting.
 * A full queue fails at once (MCP_UPSTREAM_BUSY) rather than letting callers pile up behind a slow upstream.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number, readonly maxQueue: number, private readonly label: string) {}

  get inFlight(): number {
    return this.active;
  }

  /** Run `fn` in a slot. A `signal` aborted while the call waits for one takes it out of the queue (MCP_CALL_CANCELLED). */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw cancelledError(signal);
    if (this.active >= this.max) {
      if (this.waiting.length >= this.maxQueue) {
        throw new McpGatewayError('MCP_UPSTREAM_BUSY', `${this.label}: ${this.active} calls in flight and ${this.waiting.length} queued`);
      }
      await new Promise<void>((resolve, reject) => {
        const admit = () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        };
        // A caller that gave up must not hold a place in the queue, nor later a slot it would not use.
        const leave = () => {
          const i = this.waiting.indexOf(admit);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(cancelledError(signal!));
        };
        this.waiting.push(admit);
        signal?.addEventListener('abort', leave, { once: true });
      });
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter so `active` never dips below the true count.
      if (next) next();
      else this.active--;
    }
  }
}
