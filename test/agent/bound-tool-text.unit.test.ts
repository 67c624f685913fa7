import { expect } from 'chai';
import fc from 'fast-check';
import { boundToolText } from '../../src/agent/runtime/bound-tool-text';

describe('boundToolText', () => {
  it('keeps a short text as is, cuts a long one at most at the limit with a note giving its length, never inside a surrogate pair', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 1, max: 200 }), (text, max) => {
        const out = boundToolText(text, max);
        if (text.length <= max) {
          expect(out).to.equal(text);
          return;
        }
        const [kept] = out.split('\n[truncated by OpenMCP-Chain');
        expect(kept.length).to.be.at.most(max);
        expect(text.startsWith(kept)).to.equal(true);
        expect(kept).to.not.match(/[\uD800-\uDBFF]$/);
        expect(out).to.contain(`has ${text.length} characters, only the first ${kept.length} are shown`);
      }),
    );
  });
});
