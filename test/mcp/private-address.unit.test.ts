import { expect } from 'chai';
import { isInternalAddress } from '../../src/mcp/private-address';

describe('internal addresses (who may register an MCP server URL)', function () {
  it('IPv4, IPv6 and IPv6-mapped IPv4 inside a host or its networks are internal; public ones are not', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '192.168.1.1', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1']) expect(isInternalAddress(a), a).to.equal(true);
    for (const a of ['8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isInternalAddress(a), a).to.equal(false);
  });

  it('NAT64: 64:ff9b::/96 is what the IPv4 it carries is (64:ff9b::a00:1 reaches 10.0.0.1; was: public); the local-use 64:ff9b:1::/48 is internal', () => {
    for (const a of ['64:ff9b::a00:1', '64:ff9b::10.0.0.1', '64:ff9b::7f00:1', '64:FF9B::A9FE:A9FE', '64:ff9b:1::c0a8:101', '64:ff9b:0:0:0:0:a00:1']) {
      expect(isInternalAddress(a), a).to.equal(true);
    }
    // A public IPv4 behind NAT64 (what DNS64 gives every IPv4-only name) stays public.
    for (const a of ['64:ff9b::808:808', '64:ff9b::8.8.8.8', '64:ff9b:2::a00:1']) expect(isInternalAddress(a), a).to.equal(false);
  });

  it('SIIT (::ffff:0:0/96), 6to4 (2002::/16) and IPv4-compatible (::/96) addresses are what the IPv4 they carry is (were public)', () => {
    for (const a of ['::ffff:0:a00:1', '2002:a00:1::', '2002:7f00:1::1', '::a00:1', '::10.0.0.1', '::a9fe:a9fe']) expect(isInternalAddress(a), a).to.equal(true);
    for (const a of ['::ffff:0:808:808', '2002:808:808::', '::808:808']) expect(isInternalAddress(a), a).to.equal(false);
  });

  it('the other ranges that are no public internet are internal too (were public): 192.0.0/24, benchmarking 198.18/15, multicast 224/4, reserved 240/4 and broadcast, IPv6 multicast ff00::/8 and discard 100::/64', () => {
    // 198.18/15 is also where fake-IP DNS proxies put every name; 240/4 and 224/4 are routed inside networks only.
    for (const a of ['192.0.0.8', '198.18.0.1', '198.19.255.254', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', 'ff02::1', 'ff05::2', '100::1', '::ffff:198.18.0.1', '64:ff9b::c612:1']) {
      expect(isInternalAddress(a), a).to.equal(true);
    }
    for (const a of ['192.0.1.1', '198.17.255.255', '198.20.0.1', '223.255.255.255', '101::1']) expect(isInternalAddress(a), a).to.equal(false);
  });

  it('deprecated IPv6 site-local fec0::/10 is internal (still routed inside some networks, never on the internet)', () => {
    for (const a of ['fec0::1', 'feff:ffff::1']) expect(isInternalAddress(a), a).to.equal(true);
    for (const a of ['fe7f::1', '2001:4860:4860::8888']) expect(isInternalAddress(a), a).to.equal(false);
  });
});
