import { expect } from 'chai';
import { runPeriodically } from '../../src/core/periodic';
import { until } from '../mcp/support/until';

describe('runPeriodically', () => {
  it('runs at once, then every interval, never two runs at a time', async () => {
    let runs = 0;
    let concurrent = 0;
    let most = 0;
    const p = runPeriodically(async () => {
      runs++;
      most = Math.max(most, ++concurrent);
      await new Promise((r) => setTimeout(r, 25));
      concurrent--;
    }, 5);
    expect(runs).to.equal(1);
    // Several runs of 25 ms each at a 5 ms interval: ticks fall while a run is going.
    await until('three runs', () => runs >= 3);
    await p.stop();
    expect(most).to.equal(1);
  });

  it('stop waits for the run in progress, and nothing runs after it', async () => {
    let ended = false;
    let runs = 0;
    const p = runPeriodically(async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 30));
      ended = true;
    }, 5);
    await p.stop();
    expect(ended).to.equal(true);
    const after = runs;
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).to.equal(after);
  });

  it('a run that rejects does not stop the next ones', async () => {
    let runs = 0;
    const p = runPeriodically(async () => {
      runs++;
      throw new Error('away');
    }, 5);
    await until('a run after the one that failed', () => runs > 1);
    await p.stop();
  });

  it('a run that throws before its promise (synchronously) is taken as a rejection: no throw from a timer, the next ones run', async () => {
    let runs = 0;
    const p = runPeriodically(() => {
      runs++;
      throw new Error('at once');
    }, 5);
    await until('a run after the one that failed', () => runs > 1);
    await p.stop();
  });
});
