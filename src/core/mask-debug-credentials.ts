import createDebug from 'debug';
import { formatWithOptions } from 'node:util';
import { redactUrlsIn } from './errors';

/**
 * Writes the debug module's output (`DEBUG=…`) with the credentials of every URL in it masked, as
 * redactUrlsIn masks them in the log. The KurrentDB client prints the connection string it is made
 * from (`kdb:connection Using connection string: …`), and it is made from KURRENTDB_URL whole, its
 * password included (so that it appends through its shared BatchAppend stream). It is the debug
 * module's own writer (formatted as debug formats, to stderr) with the masking added, set as the
 * module's `log`, which each namespace without one of its own calls at every line: installed as
 * the `openmcp` command starts (for every library's debug output) and as a KurrentDB event store is
 * opened (for a program of its own), before or after the libraries are loaded. Idempotent.
 * @example maskDebugCredentials(); KurrentDBClient.connectionString(url) // prints kurrentdb://***:***@host…
 */
export function maskDebugCredentials(): void {
  if (createDebug.log === maskedLog) return;
  createDebug.log = maskedLog;
}

function maskedLog(...args: unknown[]): boolean {
  const inspectOpts = (createDebug as unknown as { inspectOpts?: object }).inspectOpts ?? {};
  return process.stderr.write(`${redactUrlsIn(formatWithOptions(inspectOpts, ...args))}\n`);
}
