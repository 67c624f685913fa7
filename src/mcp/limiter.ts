import { McpGatewayError } from './errors';

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

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) {
      if (this.waiting.length >= this.maxQueue) {
        throw new McpGatewayError('MCP_UPSTREAM_BUSY', `${this.label}: ${this.active} calls in flight and ${this.waiting.length} queued`);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
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
