import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses inside a host or its networks: loopback, private, link-local (cloud metadata), CGNAT,
 * unspecified; and the other ranges that are no public internet, so only a network of the
 * gateway's own can answer there (IANA's special-purpose registries): IETF protocol assignments
 * 192.0.0/24, benchmarking 198.18/15 (where fake-IP DNS proxies put every name, too), multicast
 * 224/4, reserved 240/4 with the broadcast address; IPv6 multicast ff00::/8, discard 100::/64 and the deprecated site-local fec0::/10.
 */
const INTERNAL = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16],
  ['198.18.0.0', 15], ['224.0.0.0', 3],
] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [['::', 128], ['::1', 128], ['100::', 64], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8]] as const) INTERNAL.addSubnet(net, bits, 'ipv6');

/** An IPv6 address's eight 16-bit groups (a trailing dotted IPv4 read as the last two). */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let a = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (dotted) {
    const [b0, b1, b2, b3] = dotted.slice(1).map(Number);
    a = `${a.slice(0, dotted.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.length === 8 ? groups.map((g) => parseInt(g, 16)) : undefined;
}

/**
 * The IPv4 host an IPv6 address reaches through a translation or tunnel that carries the IPv4
 * address inside it: NAT64's well-known 64:ff9b::/96 (RFC 6052: `64:ff9b::a00:1` reaches 10.0.0.1),
 * SIIT's ::ffff:0:0/96 and the deprecated IPv4-compatible ::/96 (the last 32 bits), 6to4's
 * 2002::/16 (the 32 bits after the prefix). The local-use NAT64 64:ff9b:1::/48 (RFC 8215) is an
 * operator's own translator, with prefix lengths that place the IPv4 address differently: all of
 * it counts as internal. Other addresses (IPv4-mapped ones are BlockList's own): undefined.
 */
function embeddedIpv4(address: string): { ipv4: string } | 'local-use' | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  const dotted = (hi: number, lo: number) => ({ ipv4: [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.') });
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (g[0] === 0x64 && g[1] === 0xff9b) return zero(2, 6) ? dotted(g[6], g[7]) : g[2] === 1 ? 'local-use' : undefined;
  if (g[0] === 0x2002) return dotted(g[1], g[2]);
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return dotted(g[6], g[7]);
  // ::/96, but not :: and ::1 themselves (the list has them as IPv6).
  if (zero(0, 6) && (g[6] !== 0 || g[7] > 1)) return dotted(g[6], g[7]);
  return undefined;
}

/**
 * Whether `address` (IPv4, IPv6, or an IPv6 address carrying an IPv4 one: mapped, NAT64, SIIT,
 * 6to4, IPv4-compatible) is internal: in the ranges above, or in `denied`, the networks the host
 * operator adds (MCP_EGRESS_DENIED_NETWORKS: egress-rules.ts), which an IPv6 address carrying an
 * IPv4 one matches by either.
 */
export function isInternalAddress(address: string, denied?: BlockList): boolean {
  const inside = (a: string, family: 'ipv4' | 'ipv6') => INTERNAL.check(a, family) || (denied?.check(a, family) ?? false);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return inside(mapped[1], 'ipv4');
  const embedded = embeddedIpv4(address);
  if (embedded !== undefined) return embedded === 'local-use' || inside(embedded.ipv4, 'ipv4') || (denied?.check(address, 'ipv6') ?? false);
  const family = isIP(address);
  return family === 4 ? inside(address, 'ipv4') : family === 6 ? inside(address, 'ipv6') : false;
}

/** Every address a host name resolves to (the system resolver's: getaddrinfo, as fetch's own lookup). */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: ResolveHost = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * The first internal address `url`'s host is, or resolves to, or undefined. A host that does not
 * resolve has none: the gateway cannot reach it either. `resolve`, `isInternal`: the system
 * resolver and isInternalAddress, unless a test simulates a resolver of its own.
 */
export async function internalAddressOf(url: string, resolve: ResolveHost = systemResolve, isInternal = isInternalAddress): Promise<string | undefined> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return isInternal(host) ? host : undefined;
  const found = await resolve(host).catch(() => []);
  return found.find((a) => isInternal(a.address))?.address;
}

/**
 * A request of a public-only upstream whose host resolves to an internal address: refused, never
 * sent. Its message, which becomes the health reason the server's tenant reads (its server list,
 * its log), names the host, never the address: a tenant that points a name of its own at the host's
 * internal names (a CNAME to `db.corp.internal`) would otherwise read the addresses of the host's
 * networks, name by name. `address` keeps it for the code that handles the error (a log that
 * writes the error whole); the host operator can also resolve the name on the gateway's host.
 */
export class InternalAddressRefusedError extends Error {
  readonly code = 'INTERNAL_ADDRESS_REFUSED';

  /**
   * `host` (as written in the URL, with its port if any) is, or resolves to, `address`; `denied`,
   * the operator's MCP_EGRESS_DENIED_NETWORKS, names that setting when only it holds the address
   * (a public one: "an internal address" would send the operator looking in the wrong place).
   */
  constructor(
    host: string,
    readonly address: string,
    denied?: BlockList,
  ) {
    super(
      denied && !isInternalAddress(address) && isInternalAddress(address, denied)
        ? `${host} resolves to an address in MCP_EGRESS_DENIED_NETWORKS: a server registered by a tenant is reached at public addresses outside the networks the gateway's operator keeps from it only (docs/security.md)`
        : `${host} resolves to an internal address: a server registered by a tenant is reached at public addresses only (docs/security.md)`,
    );
  }
}
