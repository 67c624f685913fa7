import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadOptional } from '../../core/load-optional';

/** What KURRENTDB_URL takes, for the message of a value the client refuses. */
export const KURRENTDB_URL_EXPECTED =
  'a KurrentDB connection string (kurrentdb://host:2113?tls=false; a cluster: kurrentdb://node1:2113,node2:2113,node3:2113, or kurrentdb+discover://cluster-dns:2113)';

type ParseModule = typeof import('@kurrent/kurrentdb-client/dist/Client/parseConnectionString');

/**
 * A connection string without its `user:password@` (`url`), the same with `*` for their characters
 * (`masked`: a fault is at the same position in it), and the credentials, decoded as the client decodes them.
 */
export type SplitConnectionString = { url: string; masked: string; credentials?: { username: string; password: string } };

/**
 * `url` without the credentials the client would read from it, and those credentials: the
 * client's parser prints a string it cannot parse whole in its debug output (`DEBUG=kdb*`, with a
 * caret under the fault), password included, so the start's check parses `masked`. (The client
 * itself is made from the string whole, its credentials its defaults, so that it appends through
 * BatchAppend: its debug output prints that string, docs/security.md.) The client parser's own steps
 * (trimmed, trailing `/` dropped, the `[^:]+:[^@]+@` right after `<scheme>://`, percent-decoded), so
 * what remains parses as the whole did. A `%` escape that does not decode is left in place, for the parser to refuse.
 * @example splitConnectionString('kurrentdb://ops:p%2Fw@db:2113?tls=false') // { url: 'kurrentdb://db:2113?tls=false', masked: 'kurrentdb://*****:*@db:2113?tls=false', credentials: { username: 'ops', password: 'p/w' } }
 */
export function splitConnectionString(url: string): SplitConnectionString {
  const whole = url.trim().replace(/\/+$/, '');
  const scheme = /^[^:]+:\/\//.exec(whole)?.[0];
  const userInfo = scheme === undefined ? undefined : /^(?:([^:]+:[^@]+)@)/.exec(whole.slice(scheme.length));
  // No `<scheme>://`: the parser refuses it at position 0 whatever follows, which may hold a password.
  if (scheme === undefined) return { url: whole, masked: '*'.repeat(whole.length) };
  if (!userInfo) return { url: whole, masked: whole };
  const [username, password] = userInfo[1].trim().split(':');
  let credentials: SplitConnectionString['credentials'];
  try {
    credentials = { username: decodeURIComponent(username), password: decodeURIComponent(password) };
  } catch {
    return { url: whole, masked: whole };
  }
  const rest = whole.slice(scheme.length + userInfo[0].length);
  return { url: scheme + rest, masked: `${scheme}${'*'.repeat(userInfo[0].length - 3)}:*@${rest}`, credentials };
}
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
    // Its credentials masked: the parser's debug output quotes a string it refuses whole.
    options = parseConnectionString(splitConnectionString(url).masked);
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
