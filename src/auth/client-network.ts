import { isIP } from 'node:net';

/** The 8 groups of a valid IPv6 address (zone id dropped, an embedded IPv4 tail as two groups). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head, tail] = address.split('%')[0].split('::');
  const h = parse(head);
  if (tail === undefined) return h;
  const t = parse(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/**
 * What a client address is counted by in per-address limits: an IPv4 address as such (also
 * when a dual-stack socket reports it as `::ffff:a.b.c.d`), an IPv6 address by its /64 — one
 * subscriber's network, the least an ISP or a cloud gives a host, whose 2^64 addresses its owner
 * may use one after another to escape a per-address limit. Anything else is returned unchanged.
 * @example clientNetwork('2001:db8:1:2::7') // '2001:db8:1:2::/64'
 * @example clientNetwork('::ffff:198.51.100.7') // '198.51.100.7'
 */
export function clientNetwork(address: string): string {
  if (isIP(address) !== 6) return address;
  const g = ipv6Groups(address);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `${g[6] >> 8}.${g[6] & 0xff}.${g[7] >> 8}.${g[7] & 0xff}`;
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
}
