import type { Cache } from './port';

export type WithLockOptions = {
  /** The lock's TTL: a crashed holder frees it this long after its last renewal. Renewed every ttlMs/3 while fn runs. */
  ttlMs: number;
  /** Wait between attempts to take a busy lock. */
  pollMs: number;
  /** Give up (throw `busy()`) after waiting this long. */
  waitMs: number;
  /** The error to throw when the lock stays busy. */
  busy(): Error;
  /** The error `HeldLock.check()` throws when the lock was lost (default: `busy()`). */
  lost?(): Error;
  /** Told about cache errors that do not change fn's outcome (a failed renewal or release). */
  logger?: { warn(obj: unknown, msg?: string): void };
};

/** The lock fn runs under. */
export type HeldLock = {
  /**
   * Throws `lost()` unless the lock has been ours without a break since it was taken, and will
   * stay ours for a while yet (ttlMs/2 at least). Renews it on the way. Call it before a step
   * that must not happen outside the lock (signing with a nonce, booking a spend).
   */
  check(): Promise<void>;
};

/**
 * Run `fn` holding the cache lock `key` as `owner` (Redis across processes, in memory otherwise),
 * waiting for it while another owner holds it. While fn runs the lock is renewed every ttlMs/3
 * (acquireLock renews for its owner), so a slow fn (a remote signer waiting on a human, a slow
 * node) keeps it; only a crashed holder lets it lapse. Released however fn ends, best effort: a
 * failed release only leaves the lock to expire, it never replaces fn's result or error (fn may
 * have done something irreversible, such as sending a transaction).
 *
 * Held without a break: every renewal is answered less than ttlMs after the previous successful
 * one was sent, so the cache ran it before the lock could lapse, whatever the delays either way
 * (it counts the TTL from when it received the command, never earlier). A renewal refused
 * (another owner has it) or answered too late means the lock may have been another owner's
 * meanwhile: lost for good, even if renewed since. A renewal that failed (cache unreachable) is neither: the lock is still ours
 * until ttlMs after the last successful one.
 *
 * @example await withLock(cache, 'spend:t1', `task-${id}`, { ttlMs: 60_000, pollMs: 50, waitMs: 30_000, busy }, async (lock) => { await lock.check(); … })
 */
export async function withLock<T>(cache: Cache, key: string, owner: string, o: WithLockOptions, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const deadline = Date.now() + o.waitMs;
  for (;;) {
    const sent = Date.now();
    if (await cache.acquireLock(key, owner, o.ttlMs)) {
      return hold(cache, key, owner, o, sent, fn);
    }
    if (Date.now() > deadline) throw o.busy();
    await new Promise((r) => setTimeout(r, o.pollMs));
  }
}

async function hold<T>(cache: Cache, key: string, owner: string, o: WithLockOptions, taken: number, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  let lastOk = taken;
  let lost = false;
  let renewing: Promise<void> | undefined;
  const renew = (): Promise<void> =>
    (renewing ??= (async () => {
      if (lost) return;
      const sent = Date.now();
      try {
        const ok = await cache.acquireLock(key, owner, o.ttlMs);
        // The cache ran it somewhere between `sent` and now: an answer later than ttlMs after the
        // last good renewal was sent may have been run after the lock lapsed (a slow link), and
        // taken it back from a free key after another owner held and released it.
        if (!ok || Date.now() - lastOk >= o.ttlMs) {
          lost = true;
          clearInterval(timer); // lost for good: taking it back later would only hold up its new owner
        } else lastOk = sent;
      } catch (err) {
        if (Date.now() - lastOk >= o.ttlMs) {
          lost = true;
          clearInterval(timer);
        }
        o.logger?.warn({ key, err: (err as Error).message }, 'lock renewal failed');
      } finally {
        renewing = undefined;
      }
    })());
  const timer = setInterval(() => void renew(), Math.max(1, Math.floor(o.ttlMs / 3)));
  timer.unref?.();
  const lock: HeldLock = {
    async check() {
      // A renewal that does not answer in time (a hung cache) is not waited for past the margin.
      let t: NodeJS.Timeout | undefined;
      const margin = new Promise<void>((r) => (t = setTimeout(r, Math.max(0, lastOk + o.ttlMs / 2 - Date.now()))));
      await Promise.race([renew(), margin]).finally(() => clearTimeout(t));
      if (lost || Date.now() - lastOk > o.ttlMs / 2) throw (o.lost ?? o.busy)();
    },
  };
  try {
    return await fn(lock);
  } finally {
    clearInterval(timer);
    await renewing;
    await cache.releaseLock(key, owner).catch((err: Error) => o.logger?.warn({ key, err: err.message }, 'lock release failed: it expires on its own'));
  }
}
