import { expect } from 'chai';
import { clientNetwork } from '../../src/auth/client-network';

describe('clientNetwork (the unit per-address limits count)', () => {
  it('an IPv6 address by its /64, however it is written', () => {
    for (const a of ['2001:db8:1:2::7', '2001:0db8:0001:0002:ffff:eeee:dddd:cccc', '2001:db8:1:2:0:0:0:0', '2001:db8:1:2::1.2.3.4', '2001:db8:1:2::7%eth0']) {
      expect(clientNetwork(a), a).to.equal('2001:db8:1:2::/64');
    }
    expect(clientNetwork('::1')).to.equal('0:0:0:0::/64');
    expect(clientNetwork('fe80::1%en0')).to.equal('fe80:0:0:0::/64');
    expect(clientNetwork('2001:db8:1:3::1')).to.not.equal(clientNetwork('2001:db8:1:2::1'));
  });

  it('IPv4, also IPv4-mapped IPv6, as the IPv4 address; anything else unchanged', () => {
    expect(clientNetwork('198.51.100.7')).to.equal('198.51.100.7');
    expect(clientNetwork('::ffff:198.51.100.7')).to.equal('198.51.100.7');
    expect(clientNetwork('::FFFF:c633:6407')).to.equal('198.51.100.7');
    expect(clientNetwork('not an address')).to.equal('not an address');
  });
});
