import { expect } from 'chai';
import fc from 'fast-check';
import { escapeLoneSurrogates, loneSurrogateIn } from '../../src/core/lone-surrogate';

/** Unicode text survives UTF-8 unchanged; a lone surrogate comes back as U+FFFD. */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8') === s;

// Strings of UTF-16 code units biased to the surrogate ranges: pairs, lone halves, both orders.
const units = fc.array(fc.oneof(fc.constantFrom(0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00, 0x41, 0xfffd), fc.integer({ min: 0, max: 0xffff })), { maxLength: 8 });
const text = units.map((a) => String.fromCharCode(...a));

describe('loneSurrogateIn / escapeLoneSurrogates', () => {
  it('finds a lone surrogate exactly where UTF-8 cannot carry the text, in values and in keys; pairs (emoji) pass', () => {
    fc.assert(fc.property(text, (s) => (loneSurrogateIn(s) === undefined) === wellFormed(s)), { numRuns: 20_000 });
    fc.assert(fc.property(text, (s) => (loneSurrogateIn({ a: [{ [s]: 1 }] }) === undefined) === wellFormed(s)), { numRuns: 5_000 });
    expect(loneSurrogateIn({ '😀': ['😀 \ud83d\ude00', { k: 'x\ud800' }] })).to.deep.equal({ path: ['😀', 1, 'k'], field: '😀.1.k', unit: 'ud800' });
    expect(loneSurrogateIn({ a: { 'k\udc00': 1 } })?.field, 'a key holding it is written out').to.equal('a.k\\udc00');
  });

  it('writes each lone surrogate out as text and leaves everything else, pairs included, as it is', () => {
    expect(escapeLoneSurrogates('k\udc00 😀 \ud800')).to.equal('k\\udc00 😀 \\ud800');
    fc.assert(
      fc.property(text, (s) => {
        const e = escapeLoneSurrogates(s);
        return wellFormed(e) && (wellFormed(s) ? e === s : e !== s);
      }),
      { numRuns: 20_000 },
    );
  });
});
