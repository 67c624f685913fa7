/**
 * Whether `err` is a lost race for a lock that the database itself says to retry: a MySQL/MariaDB
 * deadlock (ER_LOCK_DEADLOCK: "try restarting transaction") or a busy SQLite database.
 */
export function isLockContention(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  return e?.code === 'ER_LOCK_DEADLOCK' || (e?.code ?? '').startsWith('SQLITE_BUSY') || /database is locked/.test(e?.message ?? '');
}

export type RetryOnContentionOptions = {
  /** Give up (rethrow) once this much time has passed. Default 30 s. */
  deadlineMs?: number;
  /** More errors to retry (e.g. a migration lock held by another process). */
  alsoRetry?(err: unknown): boolean;
  /** Wait before the first retry, doubled each time up to `maxDelayMs` (both jittered ±50%). Defaults 20 and 500 ms. */
  firstDelayMs?: number;
  maxDelayMs?: number;
};

/**
 * Run `fn` again, with jittered backoff, while it loses a lock race (isLockContention), as processes
 * starting at once on one database do; any other error, or contention past the deadline, is thrown.
 */
export async function retryOnContention<T>(fn: () => Promise<T>, opts: RetryOnContentionOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.deadlineMs ?? 30_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(isLockContention(err) || opts.alsoRetry?.(err)) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(opts.maxDelayMs ?? 500, (opts.firstDelayMs ?? 20) * 2 ** attempt) * (0.5 + Math.random())));
    }
  }
}
