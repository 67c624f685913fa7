import { expect } from 'chai';
import { CallEnd } from '../../src/mcp/caller-requests';

describe('CallEnd: the end of a tools/call as a signal made on demand', () => {
  it('aborts a signal asked for while the call runs, when the call ends', () => {
    const end = new CallEnd();
    const signal = end.signal;
    expect(signal.aborted).to.equal(false);
    expect(end.ended).to.equal(false);
    end.end();
    expect(signal.aborted).to.equal(true);
    expect(end.ended).to.equal(true);
  });

  it('gives an already aborted signal when asked for after the call ended', () => {
    const end = new CallEnd();
    end.end();
    expect(end.signal.aborted).to.equal(true);
  });

  it('gives the same signal each time it is asked for', () => {
    const end = new CallEnd();
    expect(end.signal).to.equal(end.signal);
  });
});
