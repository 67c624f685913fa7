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
