import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { NO_ANSWER, untilAborted, within } from '../../src/core/within';

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

describe('untilAborted(): an answer, or the given error once the signal aborts', () => {
  it('passes the answer and the error of work that settles first, and lets go of the signal', async () => {
    const ac = new AbortController();
    expect(await untilAborted(Promise.resolve(7), ac.signal, () => new Error('aborted'))).to.equal(7);
    const err = await untilAborted(Promise.reject(new Error('refused')), ac.signal, () => new Error('aborted')).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.equal('refused');
    expect(getEventListeners(ac.signal, 'abort')).to.have.length(0);
  });

  it('rejects with the error when the signal aborts while the work hangs, and at once when it already has', async () => {
    const ac = new AbortController();
    const waiting = untilAborted(new Promise<never>(() => {}), ac.signal, () => new Error('shutting down'));
    ac.abort();
    expect(await waiting.then(() => undefined, (e: Error) => e.message)).to.equal('shutting down');
    expect(await untilAborted(Promise.resolve(1), ac.signal, () => new Error('already')).then(() => undefined, (e: Error) => e.message)).to.equal('already');
  });
});
