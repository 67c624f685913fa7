/**
 * Work to do once the test file running now is done (with mocha's parallel runs, once each file is;
 * otherwise once the run is): test/support/root-hooks.ts runs it. For what a helper makes once per
 * file, lazily, for every test of the file to use (a migrated template database).
 */
const pending: Array<() => Promise<void>> = [];

/** @example afterFile(() => template.drop()) */
export function afterFile(fn: () => Promise<void>): void {
  pending.push(fn);
}

/** Run and forget everything registered so far; the first failure is thrown once all have run. */
export async function runAfterFile(): Promise<void> {
  const fns = pending.splice(0);
  const results = await Promise.allSettled(fns.map((fn) => fn()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
