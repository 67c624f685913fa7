import { expect } from 'chai';
import fc from 'fast-check';
import { decodeCursorJson, encodeCursorJson } from '../../src/core/cursor-json';

class Bad extends Error {}
const bad = (reason: string) => new Bad(reason);

describe('cursor JSON: the one encoding of every list cursor', () => {
  it('decodes what it encodes (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(decodeCursorJson(encodeCursorJson(v), 100_000, bad)).to.deep.equal(JSON.parse(JSON.stringify(v)));
      }),
    );
  });

  it('anything else is bad(reason), never another error (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (raw) => {
        try {
          decodeCursorJson(raw, 100, bad);
        } catch (err) {
          expect(err).to.be.instanceOf(Bad);
        }
      }),
    );
    expect(() => decodeCursorJson('', 100, bad)).to.throw(Bad, 'not base64url');
    expect(() => decodeCursorJson('a+b/', 100, bad)).to.throw(Bad, 'not base64url');
    expect(() => decodeCursorJson(encodeCursorJson('x'.repeat(200)), 100, bad)).to.throw(Bad, 'not base64url');
    expect(() => decodeCursorJson(Buffer.from('{nope').toString('base64url'), 100, bad)).to.throw(Bad, 'malformed');
  });
});
