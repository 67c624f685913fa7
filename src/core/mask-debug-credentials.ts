import createDebug from 'debug';
import { dirname } from 'node:path';
import { formatWithOptions } from 'node:util';
import { redactUrlsIn } from './errors';

/** The debug module's interface that this file uses (each copy of it is one). */
type DebugModule = { log: (...args: unknown[]) => unknown; inspectOpts?: object };

/**
 * Packages that bring a copy of the debug module of their own (package-lock.json: a nested
 * `node_modules/debug`), each masked too: knex's (DEBUG=knex:bindings prints a query's values, a
 * registered upstream's URL among them). test/core/mask-debug-credentials checks the lock against it.
 */
export const OWN_DEBUG_COPIES = ['knex'];

/**
 * Writes the debug module's output (`DEBUG=…`) with the credentials of every URL in it masked, as
 * redactUrlsIn masks them in the log; a URL without credentials is written as it was. The KurrentDB
 * client prints the connection string it is made from (`kdb:connection Using connection string: …`),
 * and it is made from KURRENTDB_URL whole, its password included (so that it appends through its
 * shared BatchAppend stream). It is the debug module's own writer (formatted as debug formats, to
 * stderr) with the masking added, set as the module's `log`, which each namespace without one of
 * its own calls at every line, on the shared copy and on the libraries' own (OWN_DEBUG_COPIES):
 * installed as the `openmcp` command starts (for every library's debug output) and as a KurrentDB
 * event store is opened (for a program of its own), before or after the libraries are loaded. Idempotent.
 * @example maskDebugCredentials(); KurrentDBClient.connectionString(url) // prints kurrentdb://***:***@host…
 */
export function maskDebugCredentials(): void {
  mask(createDebug as unknown as DebugModule);
  for (const pkg of OWN_DEBUG_COPIES) {
    let copy: DebugModule;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      copy = require(require.resolve('debug', { paths: [dirname(require.resolve(`${pkg}/package.json`))] })) as DebugModule;
    } catch {
      continue; // not installed, or with no copy of its own: nothing of it to mask
    }
    mask(copy);
  }
}

function mask(debug: DebugModule): void {
  if ((debug.log as { masked?: boolean }).masked) return;
  debug.log = Object.assign((...args: unknown[]) => process.stderr.write(`${maskCredentialsIn(formatWithOptions(debug.inspectOpts ?? {}, ...args))}\n`), { masked: true });
}

/** `text` with the credentials of its URLs masked (redactUrlsIn), every other URL left as written (not normalised by a parse). */
function maskCredentialsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, (url) => {
    const masked = redactUrlsIn(url);
    return stars(masked) > stars(url) ? masked : url;
  });
}

function stars(text: string): number {
  return text.split('***').length;
}
