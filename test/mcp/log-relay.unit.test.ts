import { expect } from 'chai';
import { cutLogData, LogRate } from '../../src/mcp/log-relay';

describe('log relay limits', function () {
  it('cutLogData keeps data of at most maxBytes bytes of JSON (UTF-8) and replaces larger data with a note giving its size', function () {
    expect(cutLogData({ a: 'x'.repeat(100) }, 200)).to.deep.equal({ a: 'x'.repeat(100) });
    // 'é' is 2 bytes: 60 of them and the quotes are 122 bytes, over 121.
    expect(cutLogData('é'.repeat(60), 122)).to.equal('é'.repeat(60));
    expect(cutLogData('é'.repeat(60), 121)).to.equal('[cut by the gateway: 122 bytes of JSON data, over the 121 relayed]');
    expect(cutLogData(undefined, 1)).to.equal(undefined);
    expect(cutLogData(null, 4)).to.equal(null);
  });

  it('LogRate lets a burst through, then perSecond on average', function () {
    const rate = new LogRate(2, 3, 0);
    expect([0, 0, 0, 0].map(() => rate.take(0))).to.deep.equal([true, true, true, false]);
    expect(rate.take(499)).to.equal(false);
    expect(rate.take(500)).to.equal(true);
    expect(rate.take(500)).to.equal(false);
    // A long quiet spell refills to the burst, no more.
    expect([0, 0, 0, 0].map(() => rate.take(60_000))).to.deep.equal([true, true, true, false]);
  });
});
