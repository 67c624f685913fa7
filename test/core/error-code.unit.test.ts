import { expect } from 'chai';
import fc from 'fast-check';
import { errorCodeOf, OpenMcpError, UnavailableError } from '../../src/core/errors';

describe('errorCodeOf: the code a thrown value is counted and reported under', () => {
  it("keeps a string code (ours or a driver's) and maps everything else to INTERNAL", () => {
    expect(errorCodeOf(new UnavailableError('redis', 'down'))).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(errorCodeOf(new OpenMcpError('ANCHOR_MISMATCH', 'x'))).to.equal('ANCHOR_MISMATCH');
    expect(errorCodeOf(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).to.equal('ECONNREFUSED');
    for (const v of [new Error('bug'), Object.assign(new Error('grpc'), { code: 14 }), null, undefined, 'text', 42, { code: { nested: 1 } }]) {
      expect(errorCodeOf(v), String(v)).to.equal('INTERNAL');
    }
  });

  it('never throws, whatever is thrown', () => {
    fc.assert(fc.property(fc.anything(), (v) => typeof errorCodeOf(v) === 'string'));
  });
});
