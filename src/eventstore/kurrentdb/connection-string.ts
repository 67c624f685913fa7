import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadOptional } from '../../core/load-optional';

/** What KURRENTDB_URL takes, for the message of a value the client refuses. */
export const KURRENTDB_URL_EXPECTED =
  'a KurrentDB connection string (kurrentdb://host:2113?tls=false; a cluster: kurrentdb://node1:2113,node2:2113,node3:2113, or kurrentdb+discover://cluster-dns:2113)';

type ParseModule = typeof import('@kurrent/kurrentdb-client/dist/Client/parseConnectionString');
type ParseFailure = Error & { expected?: string; location?: [number, number] };

/**
 * Why the KurrentDB client would refuse `url` as a connection string, or undefined when it takes
 * it. The client's own parser, so the configuration accepts exactly what the client connects with:
 * a cluster's several nodes (`kurrentdb://n1:2113,n2:2113`) are no URL that `new URL` parses.
 * The reason names the position and what the parser expected there, never the text found (which
 * may be a password written where a host goes). Loads the parser only when called.
 *
 * As the client does when it is made (KurrentDBClient.connectionString), `tlsCAFile`, and
 * `userCertFile` with `userKeyFile`, must be files that exist (relative: to the working directory). An option the client does not know is refused: the client would ignore it,
 * and its warning (console.warn, at every start) prints the whole connection string, password included.
 * @example kurrentConnectionStringProblem('kurrentdb://n1:port') // 'at position 15 the client expected port number'
 */
export function kurrentConnectionStringProblem(url: string): string | undefined {
  // A client that cannot be loaded is a ConfigError naming KURRENTDB_URL, as when the store opens (src/app/open-stores.ts).
  const { parseConnectionString } = loadOptional('KURRENTDB_URL', () => require('@kurrent/kurrentdb-client/dist/Client/parseConnectionString') as ParseModule);
  const warned: string[] = [];
  const warn = console.warn;
  // The parser's warnings quote the connection string whole: kept from the console (the client, made later, says them again).
  console.warn = (...args: unknown[]) => void warned.push(args.map(String).join(' '));
  let options: ReturnType<ParseModule['parseConnectionString']>;
  try {
    options = parseConnectionString(url);
  } catch (err) {
    const e = err as ParseFailure;
    if (e.expected === undefined || e.location === undefined) return 'the client cannot read it';
    return `at position ${e.location[0]} the client expected ${e.expected.replace(/\.$/, '')}`;
  } finally {
    console.warn = warn;
  }
  for (const w of warned) {
    const key = /^Unknown option key "([^"]*)"/.exec(w)?.[1];
    if (key !== undefined) return `the client does not read the option ${/^[A-Za-z][A-Za-z0-9_-]{0,39}$/.test(key) ? key : 'given'} (it would ignore it): remove it, or write one it reads (tls, tlsVerifyCert, tlsCAFile, userCertFile, userKeyFile, nodePreference, connectionName, …)`;
  }
  const missing = (option: string, file: string) => (existsSync(resolve(file)) ? undefined : `${option} ${file} does not exist (the client reads it when it is made)`);
  // Even with tls=false: the client's native part reads it all the same.
  if (options.tlsCAFile) {
    const problem = missing('tlsCAFile', options.tlsCAFile);
    if (problem) return problem;
  }
  if (options.userCertFile || options.userKeyFile) {
    if (!options.userCertFile || !options.userKeyFile) return 'userCertFile and userKeyFile go together (the client takes neither alone)';
    return missing('userCertFile', options.userCertFile) ?? missing('userKeyFile', options.userKeyFile);
  }
  return undefined;
}
