/** What within() answers when the work gave none in time. */
export const NO_ANSWER: unique symbol = Symbol('no answer');

/**
 * `work`'s answer (or its error), or NO_ANSWER once `ms` have passed without one: for a dependency
 * that may hang (a half-open connection, a stalled node) where the caller must go on. `work` is not
 * stopped, and its late answer or error is dropped. The timer does not keep the process alive.
 * @example const r = await within(2000, cache.get(key)); if (r === NO_ANSWER) throw new Error('no answer in 2000 ms');
 */
export async function within<T>(ms: number, work: Promise<T>): Promise<T | typeof NO_ANSWER> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof NO_ANSWER>((resolve) => {
    timer = setTimeout(() => resolve(NO_ANSWER), Math.max(0, ms));
    timer.unref?.();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `work`'s answer (or its error), or a rejection with `error()` as soon as `signal` aborts (at once
 * if it has): for a wait the caller must be able to give up. `work` is not stopped, and its late
 * answer or error is dropped; the listener is removed when either comes first.
 * @example await untilAborted(upstream.connect(), call.signal, () => cancelledError(call.signal))
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, error: () => unknown): Promise<T> {
  if (signal.aborted) return Promise.reject(error());
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(error());
    signal.addEventListener('abort', abort, { once: true });
    work.then(
      (v) => (signal.removeEventListener('abort', abort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', abort), reject(e)),
    );
  });
}
