import { expect } from 'chai';
import { PartitionBackoff } from '../../src/bus/kafka/partition-backoff';

/** A pause for one partition that records it and hands back a resume recording that. */
function pausing(log: string[], partition: number): () => () => void {
  return () => {
    log.push(`pause ${partition}`);
    return () => void log.push(`resume ${partition}`);
  };
}

describe('PartitionBackoff', () => {
  it('doubles the wait per failure of a partition up to the maximum (±20 %), and starts again once it applied', () => {
    const backoff = new PartitionBackoff({ initialMs: 100, maxMs: 500 });
    try {
      const waits = [0, 1, 2, 3, 4].map(() => backoff.hold(0, () => () => undefined));
      [100, 200, 400].forEach((ms, i) => expect(waits[i]).to.be.within(ms * 0.8, ms * 1.2));
      expect(waits.slice(3)).to.deep.equal([500, 500]);
      // Another partition has its own count.
      expect(backoff.hold(1, () => () => undefined)).to.be.within(80, 120);
      backoff.applied(0);
      expect(backoff.hold(0, () => () => undefined)).to.be.within(80, 120);
    } finally {
      backoff.close();
    }
  });

  it('pauses the partition at once and resumes it after the wait', async () => {
    const log: string[] = [];
    const backoff = new PartitionBackoff({ initialMs: 20 });
    backoff.hold(3, pausing(log, 3));
    expect(log).to.deep.equal(['pause 3']);
    await new Promise((r) => setTimeout(r, 60));
    expect(log).to.deep.equal(['pause 3', 'resume 3']);
  });

  it('resumes nothing once closed, pending or new (a stop never waits out a backoff)', async () => {
    const log: string[] = [];
    const backoff = new PartitionBackoff({ initialMs: 20 });
    backoff.hold(0, pausing(log, 0));
    backoff.close();
    backoff.hold(1, pausing(log, 1));
    await new Promise((r) => setTimeout(r, 60));
    expect(log).to.deep.equal(['pause 0', 'pause 1']);
  });
});
