import { expect } from 'chai';
import { sharedRead } from '../../src/readmodels/shared-read';

const turn = () => new Promise<void>((r) => setImmediate(r));

/** A read whose answers the test gives, one pending promise per read started. */
function controlledRead() {
  const pending: Array<{ resolve(v: number): void; reject(e: Error): void }> = [];
  const read = () => new Promise<number>((resolve, reject) => pending.push({ resolve, reject }));
  return { read, pending };
}

describe('sharedRead', () => {
  it('calls made before the read starts share it', async () => {
    const r = controlledRead();
    const epoch = sharedRead(r.read);
    const calls = [epoch(), epoch(), epoch()];
    expect(r.pending).to.have.length(0); // not started in the callers' turn
    await turn();
    expect(r.pending).to.have.length(1);
    r.pending[0].resolve(7);
    expect(await Promise.all(calls)).to.deep.equal([7, 7, 7]);
  });

  it('a call made once a read has started gets a read of its own, never the one begun before it asked', async () => {
    const r = controlledRead();
    const epoch = sharedRead(r.read);
    const first = epoch();
    await turn();
    expect(r.pending).to.have.length(1); // the first read is under way
    // Meanwhile (say) another process raises the epoch and commits; this call must see it.
    const second = epoch();
    await turn();
    expect(r.pending).to.have.length(2);
    r.pending[0].resolve(1);
    r.pending[1].resolve(2);
    expect(await first).to.equal(1);
    expect(await second).to.equal(2);
  });

  it('a failed read rejects every call that shared it, and the next call reads again', async () => {
    const r = controlledRead();
    const epoch = sharedRead(r.read);
    const calls = [epoch(), epoch()].map((p) => p.then(() => 'ok', (e: Error) => e.message));
    await turn();
    r.pending[0].reject(new Error('database down'));
    expect(await Promise.all(calls)).to.deep.equal(['database down', 'database down']);
    const again = epoch();
    await turn();
    expect(r.pending).to.have.length(2);
    r.pending[1].resolve(3);
    expect(await again).to.equal(3);
  });

  it('a read that throws instead of rejecting rejects its calls (the process does not crash), and the next call reads again', async () => {
    let reads = 0;
    const epoch = sharedRead<number>(() => {
      if (++reads === 1) throw new Error('thrown in the call');
      return Promise.resolve(4);
    });
    const calls = [epoch(), epoch()].map((p) => p.then(() => 'ok', (e: Error) => e.message));
    expect(await Promise.all(calls)).to.deep.equal(['thrown in the call', 'thrown in the call']);
    expect(await epoch()).to.equal(4);
  });
});
