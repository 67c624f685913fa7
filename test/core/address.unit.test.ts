import { expect } from 'chai';
import fc from 'fast-check';
import { ADDRESS_PATTERN, isHexAddress } from '../../src/core/address';

const hexDigits = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${n}}$`));

describe('hex addresses', function () {
  it('are 0x and exactly 40 hex digits of either case', function () {
    fc.assert(fc.property(hexDigits(40), (h) => isHexAddress(`0x${h}`)));
    fc.assert(fc.property(fc.integer({ min: 0, max: 80 }).filter((n) => n !== 40), (n) => !isHexAddress(`0x${'a'.repeat(n)}`)));
  });

  it('refuse what is not one: no prefix, a non-hex digit, an ENS name, surrounding text, a non-string', function () {
    const forty = 'ab'.repeat(20);
    for (const v of [forty, `0X${forty}`, `0x${forty.slice(1)}g`, 'vitalik.eth', ` 0x${forty}`, `0x${forty}\n`, `0x${forty}00`, undefined, 42, null]) {
      expect(isHexAddress(v), String(v)).to.equal(false);
    }
  });

  it('keep no state between tests (the pattern has no global flag)', function () {
    const a = `0x${'1'.repeat(40)}`;
    expect([ADDRESS_PATTERN.test(a), ADDRESS_PATTERN.test(a)]).to.deep.equal([true, true]);
  });
});
