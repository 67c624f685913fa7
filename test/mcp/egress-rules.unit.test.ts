import { expect } from 'chai';
import fc from 'fast-check';
import { loadConfig } from '../../src/config';
import { egressRulesOf } from '../../src/app/gateway';
import { egressHostAllowed, egressRulesFrom, isEgressHostPattern } from '../../src/mcp/egress-rules';
import { isInternalAddress } from '../../src/mcp/private-address';

describe('egress rules (MCP_EGRESS_ALLOWED_HOSTS, MCP_EGRESS_DENIED_NETWORKS)', () => {
  it('unset (or * for the hosts): no rules, any public host', () => {
    expect(egressRulesOf(loadConfig({}, '/x'))).to.equal(undefined);
    expect(egressRulesOf(loadConfig({ MCP_EGRESS_ALLOWED_HOSTS: '*' }, '/x'))).to.equal(undefined);
    expect(egressHostAllowed(undefined, 'anything.example')).to.equal(true);
  });

  it('a host is allowed when listed (any case, a trailing dot, IPv6 in brackets), or a subdomain of a *. entry; never the domain of *. itself, nor a name that only ends alike', () => {
    const rules = egressRulesFrom({ allowedHosts: 'mcp.example.com, *.vendor.example, [2001:db8::7], 203.0.113.7' });
    for (const host of ['mcp.example.com', 'MCP.Example.com', 'mcp.example.com.', 'eu.vendor.example', 'a.b.vendor.example', '[2001:db8::7]', '2001:db8::7', '203.0.113.7']) {
      expect(egressHostAllowed(rules, host), host).to.equal(true);
    }
    for (const host of ['example.com', 'mcp.example.com.evil.example', 'xmcp.example.com', 'vendor.example', 'evilvendor.example', '203.0.113.8', '[2001:db8::8]']) {
      expect(egressHostAllowed(rules, host), host).to.equal(false);
    }
  });

  it('an entry written with a trailing dot (a fully qualified name, which the configuration accepts) matches its host with or without one', () => {
    const rules = egressRulesFrom({ allowedHosts: 'mcp.example.com., *.vendor.example.' });
    for (const host of ['mcp.example.com', 'mcp.example.com.', 'eu.vendor.example', 'eu.vendor.example.']) expect(egressHostAllowed(rules, host), host).to.equal(true);
    for (const host of ['vendor.example', 'vendor.example.', 'xmcp.example.com']) expect(egressHostAllowed(rules, host), host).to.equal(false);
  });

  it('entries: host names, addresses and *. patterns; a port, a path, * inside or a bare *. is refused by the configuration (CONFIG_INVALID naming the entry)', () => {
    for (const ok of ['mcp.example.com', '*.example.com', '10.0.0.5', '[fd00::1]']) expect(isEgressHostPattern(ok), ok).to.equal(true);
    for (const bad of ['mcp.example.com:443', 'https://mcp.example.com', '*.*.example.com', 'a.*.example.com', '*.', '*.10.0.0.5']) expect(isEgressHostPattern(bad), bad).to.equal(false);
    expect(() => loadConfig({ MCP_EGRESS_ALLOWED_HOSTS: 'mcp.example.com,mcp.example.com:443' }, '/x')).to.throw(/MCP_EGRESS_ALLOWED_HOSTS.*"mcp\.example\.com:443" is not one/s);
    expect(() => loadConfig({ MCP_EGRESS_DENIED_NETWORKS: '203.0.113.0/33' }, '/x')).to.throw(/MCP_EGRESS_DENIED_NETWORKS.*"203\.0\.113\.0\/33" is not one/s);
    expect(() => loadConfig({ MCP_EGRESS_DENIED_NETWORKS: 'example.com' }, '/x')).to.throw(/MCP_EGRESS_DENIED_NETWORKS/);
    expect(() => loadConfig({ MCP_EGRESS_DENIED_NETWORKS: '*' }, '/x')).to.throw(/MCP_EGRESS_DENIED_NETWORKS/);
  });

  it('a denied network counts as internal, in every IPv6 spelling that carries its IPv4 addresses; other public addresses stay public', () => {
    const denied = egressRulesFrom({ deniedNetworks: '203.0.113.0/24,2001:db8:1::/48' }).deniedNetworks;
    for (const a of ['203.0.113.1', '::ffff:203.0.113.1', '::ffff:cb00:7101', '64:ff9b::cb00:7101', '2002:cb00:7101::', '::ffff:0:cb00:7101', '2001:db8:1::5']) {
      expect(isInternalAddress(a, denied), a).to.equal(true);
      expect(isInternalAddress(a), `${a} without the setting`).to.equal(false);
    }
    for (const a of ['203.0.114.1', '198.51.100.1', '2001:db8:2::5']) expect(isInternalAddress(a, denied), a).to.equal(false);
  });

  it('any IPv4 address inside a denied /16 is internal, any outside it is as without the setting (property)', () => {
    const denied = egressRulesFrom({ deniedNetworks: '198.51.0.0/16' }).deniedNetworks;
    fc.assert(
      fc.property(fc.ipV4(), (a) => {
        const inside = a.startsWith('198.51.');
        expect(isInternalAddress(a, denied)).to.equal(inside || isInternalAddress(a));
        expect(isInternalAddress(`::ffff:${a}`, denied)).to.equal(inside || isInternalAddress(a));
      }),
    );
  });
});
