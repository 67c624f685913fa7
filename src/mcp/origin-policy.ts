import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * Which browser pages may call `/mcp`, and under which Host names it answers: the MCP transport
 * spec's guard against DNS rebinding ("servers MUST validate the Origin header on all incoming
 * connections"; 403 when it is present and invalid). A request without an Origin is not a
 * cross-origin browser request (MCP clients that are programs send none) and passes the Origin
 * check. docs/security.md, "Browsers and DNS rebinding".
 */
export type OriginPolicy = {
  /** Origins allowed besides the request's own (MCP_ALLOWED_ORIGINS); `'*'` = any (unsafe). Default none. */
  allowedOrigins?: readonly string[] | '*';
  /**
   * Host names (no port) the Host header may name besides `localhost` and loopback addresses
   * (MCP_ALLOWED_HOSTS); `'*'` = any. A list turns the Host check on wherever the server listens.
   */
  allowedHosts?: readonly string[] | '*';
  /** The server listens on loopback only (HOST): the Host check is on without `allowedHosts` too. */
  loopback?: boolean;
};

export type OriginRefusal = { code: 'MCP_ORIGIN_FORBIDDEN' | 'MCP_HOST_FORBIDDEN'; message: string };

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** A Host header's syntax: a name or an IP literal, and a port. Anything else (`a@b`, a path) is refused before it is parsed. */
const HOST_HEADER = /^(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i;

/** Whether `name` (a host name, an IP address, an IPv6 literal in brackets) is `localhost` or a loopback address. */
export function isLoopbackName(name: string): boolean {
  const bare = name.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (bare === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** The host name of a Host header (lowercase, IPv4 normalized, IPv6 in brackets), or undefined for one that is not a host[:port]. */
function hostnameOf(host: string | undefined): string | undefined {
  if (!host || !HOST_HEADER.test(host)) return undefined;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Whether `v` is an origin as browsers send it: `scheme://host[:port]`, lowercase, no path, no
 * trailing slash, no default port (`https://app.example.com`, `http://localhost:5173`,
 * `chrome-extension://<id>`). `null` (an opaque origin) is not one.
 */
export function isOrigin(v: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]+$/.test(v)) return false;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return false;
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') return u.origin === v;
  return `${u.protocol}//${u.host}` === v;
}

/** Whether `v` is a host name or IP address without a port, as MCP_ALLOWED_HOSTS lists them (`mcp.example.com`, `10.0.0.5`, `[fd00::1]`). */
export function isHostName(v: string): boolean {
  return !v.includes(':') || /^\[[0-9a-f:.]+\]$/i.test(v) ? hostnameOf(v) === v.toLowerCase() : false;
}

/**
 * A comma-separated setting as a list (entries trimmed, empty ones dropped), `'*'` for any, or
 * undefined when unset or empty.
 * @example listSetting('https://a.example, https://b.example') // ['https://a.example', 'https://b.example']
 */
export function listSetting(v: string | undefined): string[] | '*' | undefined {
  const entries = (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (!entries.length) return undefined;
  return entries.length === 1 && entries[0] === '*' ? '*' : entries;
}

/** The first entry of a comma-separated setting that `valid` refuses (a `*` among others included), or undefined. */
export function firstInvalid(v: string, valid: (entry: string) => boolean): string | undefined {
  const list = listSetting(v);
  if (list === undefined || list === '*') return undefined;
  return list.find((e) => !valid(e));
}

/** A header value fit for a message: quoted, cut at 100 characters. */
function shown(v: string): string {
  return JSON.stringify(v.length > 100 ? `${v.slice(0, 100)}…` : v);
}

/**
 * The check of `policy` for one request's headers: undefined to let it through, or why it is
 * refused (403). The Host is checked first (when the check is on), then the Origin (when there
 * is one): its own origin (an http(s) Origin naming the Host the request was sent to, whatever
 * the scheme, which a TLS-terminating proxy hides), a listed one, or any with `'*'`.
 * @example originCheck({ loopback: true })({ host: '127.0.0.1:8080', origin: 'https://evil.example' })?.code === 'MCP_ORIGIN_FORBIDDEN'
 */
export function originCheck(policy: OriginPolicy): (headers: IncomingHttpHeaders) => OriginRefusal | undefined {
  const anyOrigin = policy.allowedOrigins === '*';
  const origins = new Set(policy.allowedOrigins === '*' ? [] : policy.allowedOrigins ?? []);
  const listedHosts = policy.allowedHosts === '*' ? undefined : policy.allowedHosts?.map((h) => h.toLowerCase());
  const checkHost = policy.allowedHosts !== '*' && (policy.loopback === true || listedHosts !== undefined);
  const hosts = new Set(listedHosts ?? []);
  const hostAdvice = policy.loopback
    ? 'this gateway listens on loopback and answers to localhost and loopback addresses only (and the names in MCP_ALLOWED_HOSTS)'
    : 'this gateway answers to localhost, loopback addresses and the names in MCP_ALLOWED_HOSTS only';

  return (headers) => {
    const host = headers.host;
    if (checkHost) {
      const name = hostnameOf(host);
      if (name === undefined || !(isLoopbackName(name) || hosts.has(name))) {
        return { code: 'MCP_HOST_FORBIDDEN', message: `Host ${shown(host ?? '')} refused (a guard against DNS rebinding): ${hostAdvice}` };
      }
    }
    const origin = headers.origin;
    if (origin === undefined || anyOrigin || origins.has(origin) || sameAuthority(origin, host)) return undefined;
    return {
      code: 'MCP_ORIGIN_FORBIDDEN',
      message: `Origin ${shown(origin)} may not call this gateway: only pages of its own origin may, and the origins in MCP_ALLOWED_ORIGINS`,
    };
  };
}

/** Whether `origin` is an http(s) origin naming the same host and port as the Host header. */
function sameAuthority(origin: string, host: string | undefined): boolean {
  if (!isOrigin(origin) || !/^https?:/.test(origin) || hostnameOf(host) === undefined) return false;
  const o = new URL(origin);
  return new URL(`${o.protocol}//${host}`).host === o.host;
}
