import { isIP, type LookupFunction } from 'node:net';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Dispatcher, RequestInit as UndiciRequestInit } from 'undici';
import { EgressHostRefusedError, egressHostAllowed, type EgressRules } from './egress-rules';
import { InternalAddressRefusedError, internalAddressOf, isInternalAddress, systemResolve, type ResolveHost } from './private-address';

/**
 * Where names resolve and what counts as internal: the system resolver and isInternalAddress,
 * unless a test simulates its own (a rebinding); `rules`, the host operator's
 * (MCP_EGRESS_ALLOWED_HOSTS, MCP_EGRESS_DENIED_NETWORKS: egress-rules.ts).
 */
export type PublicOnlyOptions = { resolve?: ResolveHost; isInternal?: (address: string) => boolean; rules?: EgressRules };

/** undici's fetch with an Agent of its own package (a dispatcher of another undici, Node's bundled one, is not guaranteed to be taken). */
type Pinned = { fetch: typeof import('undici').fetch; dispatcher: Dispatcher };

/**
 * A `lookup` for net/tls.connect: the name resolved once for this connection, refused if any of
 * its addresses is internal, else the checked addresses are the only ones the socket is given (all
 * of them when Node tries several, Happy Eyeballs). TLS keeps the name: SNI, the certificate's
 * check and the Host header are the URL's host, only the socket's address comes from here.
 */
function checkedLookup(resolve: ResolveHost, isInternal: (address: string) => boolean, rules?: EgressRules): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const internal = found.find((a) => isInternal(a.address));
        if (internal) return callback(new InternalAddressRefusedError(hostname, internal.address, rules?.deniedNetworks), '');
        // The system resolver rejects rather than answer nothing (ENOTFOUND); a resolver of a test may not.
        if (found.length === 0) return callback(new Error(`${hostname} resolves to no address`), '');
        // Node asks for every address when it tries several (autoSelectFamily, its default), else for one.
        if (options.all) callback(null, found);
        else callback(null, found[0].address, found[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}

/**
 * An undici Agent whose every connection goes to an address checked for it: a host name through
 * checkedLookup, an IP literal (a URL's, or a redirect's target) refused here when internal, as
 * Node connects to a literal without a lookup. undici is loaded on first use, by the processes
 * that have such an upstream only.
 */
async function pinnedClient(resolve: ResolveHost, isInternal: (address: string) => boolean, rules?: EgressRules): Promise<Pinned> {
  const { Agent, buildConnector, fetch } = await import('undici');
  const connector = buildConnector({ lookup: checkedLookup(resolve, isInternal, rules) });
  const dispatcher = new Agent({
    connect: (options, callback) => {
      // A redirect's target too: undici follows it through this dispatcher, past the fetch's own check.
      if (!egressHostAllowed(rules, options.hostname)) return callback(new EgressHostRefusedError(options.host ?? options.hostname), null);
      if (isIP(options.hostname) && isInternal(options.hostname)) {
        return callback(new InternalAddressRefusedError(options.host ?? options.hostname, options.hostname, rules?.deniedNetworks), null);
      }
      connector(options, callback);
    },
  });
  return { fetch, dispatcher };
}

/** One Agent (and its connection pools) per process for the system resolver, as fetch's global one; one per set of the operator's rules (a process has one). */
let shared: Promise<Pinned> | undefined;
const sharedByRules = new WeakMap<EgressRules, Promise<Pinned>>();
function sharedPinned(rules?: EgressRules): Promise<Pinned> {
  const forget = (err: unknown) => {
    if (rules) sharedByRules.delete(rules);
    else shared = undefined;
    throw err;
  };
  if (!rules) return (shared ??= pinnedClient(systemResolve, isInternalAddress).catch(forget));
  let p = sharedByRules.get(rules);
  if (!p) sharedByRules.set(rules, (p = pinnedClient(systemResolve, (a) => isInternalAddress(a, rules.deniedNetworks), rules).catch(forget)));
  return p;
}

/**
 * `fetch` for upstreams registered with egress "public" (by a tenant's admin or operator), whose
 * name was checked at registration but may be pointed inside later: each request whose host is,
 * or now resolves to, an internal address is refused (InternalAddressRefusedError, nothing sent),
 * and each connection, a redirect's too, goes only to addresses checked for that connection, so a
 * name answering a public address to the check and an internal one to the connection (a DNS
 * rebinding with TTL 0) reaches nothing inside. A connection kept alive stays at the address it
 * was checked at. Errors reach the caller as fetch's own: a TypeError "fetch failed" whose
 * `cause` is the InternalAddressRefusedError, when the connection was refused. With the operator's
 * `rules`, the addresses of MCP_EGRESS_DENIED_NETWORKS count as internal, and a host (a redirect's
 * too) that MCP_EGRESS_ALLOWED_HOSTS does not list is refused before it is resolved (EgressHostRefusedError).
 * @example new StreamableHTTPClientTransport(url, { fetch: isolatedAbortFetch(publicOnlyFetch({ rules })) })
 */
export function publicOnlyFetch(options: PublicOnlyOptions = {}): FetchLike {
  const { rules } = options;
  const resolve = options.resolve ?? systemResolve;
  const isInternal = options.isInternal ?? ((a: string) => isInternalAddress(a, rules?.deniedNetworks));
  const custom = options.resolve !== undefined || options.isInternal !== undefined;
  let own: Promise<Pinned> | undefined;
  return async (url, init) => {
    const target = new URL(url instanceof URL ? url.href : url);
    if (!egressHostAllowed(rules, target.hostname)) throw new EgressHostRefusedError(target.host);
    const internal = await internalAddressOf(target.href, resolve, isInternal);
    if (internal !== undefined) throw new InternalAddressRefusedError(target.host, internal, rules?.deniedNetworks);
    const pinned = await (custom ? (own ??= pinnedClient(resolve, isInternal, rules)) : sharedPinned(rules));
    // undici's Response and Headers are what Node's fetch returns (Node's fetch is undici), of the package's version.
    return (await pinned.fetch(url, { ...(init as UndiciRequestInit), dispatcher: pinned.dispatcher })) as unknown as Response;
  };
}
