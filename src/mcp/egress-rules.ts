import { BlockList, isIP } from 'node:net';
import { isHostName } from './origin-policy';

/**
 * The host operator's own limits on where servers that tenants register (egress "public") may
 * connect, beyond the internal ranges the gateway always refuses (private-address.ts):
 * `allowedHosts` (MCP_EGRESS_ALLOWED_HOSTS), when set, the only hosts they may name
 * (`mcp.example.com`, `*.example.com` for its subdomains, an IP address); `deniedNetworks`
 * (MCP_EGRESS_DENIED_NETWORKS) public addresses that lead into the operator's networks anyway (a
 * NAT, a VPN gateway's range, a partner's), refused as internal ones are.
 */
export type EgressRules = { allowedHosts?: readonly string[]; deniedNetworks?: BlockList };

/** Whether `v` is an MCP_EGRESS_ALLOWED_HOSTS entry: a host name or IP address without a port, or `*.` and a host name (its subdomains). */
export function isEgressHostPattern(v: string): boolean {
  return v.startsWith('*.') ? !v.slice(2).includes('*') && isHostName(v.slice(2)) && !isIP(v.slice(2)) : isHostName(v);
}

/** `v` (an MCP_EGRESS_DENIED_NETWORKS entry: `203.0.113.0/24`, `2001:db8::/32`, or one address) as a network and prefix length, or undefined when it is none. */
export function networkOf(v: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address, bits, extra] = v.split('/');
  const version = isIP(address);
  if (!version || extra !== undefined) return undefined;
  const max = version === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = bits === undefined ? max : Number(bits);
  return prefix <= max ? { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' } : undefined;
}

/**
 * The rules of the two settings (comma-separated, as the configuration validated them); empty
 * when neither is set. A `*` for the hosts is any host, as unset.
 * @example egressRulesFrom({ allowedHosts: 'mcp.example.com,*.vendor.example', deniedNetworks: '203.0.113.0/24' })
 */
export function egressRulesFrom(s: { allowedHosts?: string; deniedNetworks?: string }): EgressRules {
  const list = (v?: string) => (v ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  // A fully qualified name's trailing dot is the same host (egressHostAllowed drops the URL's too).
  const hosts = list(s.allowedHosts).map((h) => h.toLowerCase().replace(/\.$/, ''));
  const networks = list(s.deniedNetworks).map((n) => {
    const net = networkOf(n);
    if (!net) throw new Error(`MCP_EGRESS_DENIED_NETWORKS: ${JSON.stringify(n)} is not an address or network`);
    return net;
  });
  const rules: EgressRules = {};
  if (hosts.length && !(hosts.length === 1 && hosts[0] === '*')) rules.allowedHosts = hosts;
  if (networks.length) {
    const denied = new BlockList();
    for (const n of networks) denied.addSubnet(n.address, n.prefix, n.family);
    rules.deniedNetworks = denied;
  }
  return rules;
}

/**
 * Whether a server of egress "public" may connect to `hostname` (a URL's `hostname`: IPv6 in
 * brackets or not, any case). Without `allowedHosts`, any host (the internal ranges are refused
 * apart); with it, a listed host, or a subdomain of a `*.` entry (not the domain itself).
 */
export function egressHostAllowed(rules: EgressRules | undefined, hostname: string): boolean {
  const allowed = rules?.allowedHosts;
  if (!allowed) return true;
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return allowed.some((e) => {
    const entry = e.replace(/^\[|\]$/g, '');
    return entry.startsWith('*.') ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry;
  });
}

/** A request of a server of egress "public" to a host that MCP_EGRESS_ALLOWED_HOSTS does not list: refused, never sent. */
export class EgressHostRefusedError extends Error {
  readonly code = 'EGRESS_HOST_REFUSED';

  /** `host` as the URL writes it (with its port if any). */
  constructor(host: string) {
    super(`${host} is not in MCP_EGRESS_ALLOWED_HOSTS: a server registered by a tenant is reached at the hosts the gateway's operator allows only (docs/security.md)`);
  }
}
