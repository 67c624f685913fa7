/**
 * `read` shared by the calls made before it starts: the first call schedules a read for the
 * event loop's check phase (setImmediate), every call until then gets that read's promise, and a
 * call made once it has started schedules the next one. So every value returned was read after
 * its caller asked, as with a read of its own; the calls of one loop turn (the requests parsed in
 * one poll phase) cost one read between them.
 * @example const epoch = sharedRead(() => readCacheEpoch(knex)); const e = await epoch();
 */
export function sharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let next: Promise<T> | undefined;
  return () => {
    if (!next) {
      next = new Promise<T>((resolve, reject) => {
        setImmediate(() => {
          // Started: a call from now on must not get this value, read before it asked.
          next = undefined;
          // A read that throws rejects its calls: thrown here it would be uncaught and end the process.
          try {
            read().then(resolve, reject);
          } catch (err) {
            reject(err);
          }
        });
      });
    }
    return next;
  };
}
