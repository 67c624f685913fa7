import { expect } from 'chai';
import { READINESS_CHECK_TIMEOUT_MS, runReadinessCheck } from '../../src/telemetry/readiness-check';

describe('runReadinessCheck: one dependency, as /readyz and openmcp_dependency_up see it', () => {
  it('passes the state and detail of a check that answers', async () => {
    expect(await runReadinessCheck({ name: 'a', check: async () => ({ state: 'up' }) })).to.deep.equal({ state: 'up' });
    expect(await runReadinessCheck({ name: 'a', check: async () => ({ state: 'degraded', detail: 'lexical only' }) })).to.deep.equal({ state: 'degraded', detail: 'lexical only' });
  });

  it('is down, never throws, when the check throws (synchronously too), with the message and no credentials', async () => {
    const refused = await runReadinessCheck({ name: 'chain', check: async () => Promise.reject(new Error('fetch failed: http://u:S3cret@10.0.0.5:8545')) });
    expect(refused).to.deep.equal({ state: 'down', detail: 'fetch failed: http://***:***@10.0.0.5:8545/' });
    const sync = await runReadinessCheck({ name: 'x', check: () => { throw new Error('boom'); } });
    expect(sync).to.deep.equal({ state: 'down', detail: 'boom' });
    expect(await runReadinessCheck({ name: 'x', check: () => Promise.reject(undefined) })).to.deep.equal({ state: 'down', detail: 'undefined' });
  });

  it('is down when the check gives no answer in time (a frozen database), 2 s by default', async () => {
    expect(READINESS_CHECK_TIMEOUT_MS).to.equal(2000);
    const t0 = Date.now();
    expect(await runReadinessCheck({ name: 'db', check: () => new Promise(() => {}) }, 50)).to.deep.equal({ state: 'down', detail: 'no answer in 50 ms' });
    expect(Date.now() - t0).to.be.below(1000);
  });
});
