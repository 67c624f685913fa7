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
 * @example kurrentConnectionStringProblem('kurrentdb://n1:port') // 'at position 15 the client expected port number'
 */
export function kurrentConnectionStringProblem(url: string): string | undefined {
  // A client that cannot be loaded is a ConfigError naming KURRENTDB_URL, as when the store opens (src/app/open-stores.ts).
  const { parseConnectionString } = loadOptional('KURRENTDB_URL', () => require('@kurrent/kurrentdb-client/dist/Client/parseConnectionString') as ParseModule);
  try {
    parseConnectionString(url);
    return undefined;
  } catch (err) {
    const e = err as ParseFailure;
    if (e.expected === undefined || e.location === undefined) return 'the client cannot read it';
    return `at position ${e.location[0]} the client expected ${e.expected.replace(/\.$/, '')}`;
  }
}
