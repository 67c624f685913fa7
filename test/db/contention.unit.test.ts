import { expect } from 'chai';
import { isLockContention, retryOnContention } from '../../src/db/contention';

const deadlock = Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { code: 'ER_LOCK_DEADLOCK' });
const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

describe('retryOnContention', () => {
  it('knows a lost lock race from other errors', () => {
    expect([deadlock, busy, { code: 'SQLITE_BUSY_SNAPSHOT' }, new Error('database is locked')].map(isLockContention)).to.deep.equal([true, true, true, true]);
    expect([new Error('syntax error'), { code: 'ER_DUP_ENTRY' }, undefined].map(isLockContention)).to.deep.equal([false, false, false]);
  });

  it('runs again after a lost lock race until it succeeds', async () => {
    let calls = 0;
    const r = await retryOnContention(async () => (++calls < 4 ? Promise.reject(calls % 2 ? deadlock : busy) : 'done'), { firstDelayMs: 1, maxDelayMs: 2 });
    expect([r, calls]).to.deep.equal(['done', 4]);
  });

  it('throws any other error at once, and contention once past the deadline', async () => {
    let calls = 0;
    const other = await retryOnContention(async () => (calls++, Promise.reject(new Error('syntax error')))).catch((e: Error) => e);
    expect([(other as Error).message, calls]).to.deep.equal(['syntax error', 1]);
    const started = Date.now();
    const late = await retryOnContention(() => Promise.reject(deadlock), { deadlineMs: 100, firstDelayMs: 5, maxDelayMs: 10 }).catch((e: Error) => e);
    expect(late).to.equal(deadlock);
    expect(Date.now() - started).to.be.within(100, 2_000);
  });

  it('retries what alsoRetry names too', async () => {
    let calls = 0;
    const locked = Object.assign(new Error('Migration table is already locked'), { name: 'MigrationLocked' });
    await retryOnContention(async () => (++calls < 3 ? Promise.reject(locked) : undefined), { firstDelayMs: 1, alsoRetry: (e) => (e as Error).name === 'MigrationLocked' });
    expect(calls).to.equal(3);
  });
});
