import { expect } from 'chai';
import { NO_ANSWER, within } from '../../src/core/within';

describe('within(): an answer, or NO_ANSWER once the time is up', () => {
  it('passes the answer and the error of work that settles in time', async () => {
    expect(await within(1000, Promise.resolve(7))).to.equal(7);
    const err = await within(1000, Promise.reject(new Error('refused'))).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.equal('refused');
  });

  it('answers NO_ANSWER for work that hangs, and drops its late error (no unhandled rejection)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      let fail!: (e: Error) => void;
      const hanging = new Promise<number>((_, reject) => (fail = reject));
      expect(await within(20, hanging)).to.equal(NO_ANSWER);
      fail(new Error('too late'));
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
