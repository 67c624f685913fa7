/**
 * Collects requests that arrive while a flush is running and hands them to the next flush as one
 * batch, so N concurrent callers share one transaction (and one fsync) instead of N.
 * Only one flush runs at a time per instance; order of requests is kept.
 */
export class GroupCommit<TReq, TRes> {
  private queue: { req: TReq; resolve(r: TRes): void; reject(e: unknown): void }[] = [];
  private running = false;

  constructor(
    private readonly flush: (batch: TReq[]) => Promise<(TRes | Error)[]>,
    private readonly maxBatch = 256,
  ) {}

  submit(req: TReq): Promise<TRes> {
    return new Promise<TRes>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Resolves when nothing is queued or in flight (for a clean shutdown). */
  async idle(): Promise<void> {
    while (this.running || this.queue.length) await new Promise((r) => setTimeout(r, 5));
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        // Let the I/O callbacks already due run first: their appends join this batch. A
        // synchronous driver (better-sqlite3) blocks the loop while it commits, so without this
        // nothing could queue up and every batch would hold a single append.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const results = await this.flush(batch.map((b) => b.req));
          batch.forEach((b, i) => (results[i] instanceof Error ? b.reject(results[i]) : b.resolve(results[i] as TRes)));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
