import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Addresses inside a host or its networks: loopback, private, link-local (cloud metadata), CGNAT, unspecified. */
const INTERNAL = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
  INTERNAL.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) INTERNAL.addSubnet(net, bits, 'ipv6');

/** Whether `address` (IPv4, IPv6, or IPv6-mapped IPv4) is internal. */
export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return INTERNAL.check(mapped[1], 'ipv4');
  const family = isIP(address);
  return family === 4 ? INTERNAL.check(address, 'ipv4') : family === 6 ? INTERNAL.check(address, 'ipv6') : false;
}

/**
 * Whether `url`'s host is, or resolves to, an internal address (any of its addresses). A host that
 * does not resolve is not: the gateway cannot reach it either. This is checked when a server is
 * registered; a name whose DNS answer changes later (rebinding) is not caught here.
 */
export async function reachesInternalAddress(url: string): Promise<boolean> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return isInternalAddress(host);
  const found = await lookup(host, { all: true, verbatim: true }).catch(() => []);
  return found.some((a) => isInternalAddress(a.address));
}
