import { expect } from 'chai';
import { READINESS_CHECK_TIMEOUT_MS, runReadinessCheck, sharedReadinessCheck, softReadinessCheck } from '../../src/telemetry/readiness-check';

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

  it('softReadinessCheck: a failing, throwing or hung dependency the process serves without is degraded with the reason and the consequence; up stays up', async () => {
    const consequence = 'served without it';
    const up = softReadinessCheck({ name: 'c', check: async () => ({ state: 'up' }) }, consequence);
    expect(await runReadinessCheck(up)).to.deep.equal({ state: 'up' });
    const down = softReadinessCheck({ name: 'c', check: async () => ({ state: 'down', detail: 'HTTP 502' }) }, consequence);
    expect(await runReadinessCheck(down)).to.deep.equal({ state: 'degraded', detail: `HTTP 502; ${consequence}` });
    const throws = softReadinessCheck({ name: 'c', check: async () => Promise.reject(new Error('connect ECONNREFUSED redis://u:secret@h:6379')) }, consequence);
    const t = await runReadinessCheck(throws);
    expect(t.state).to.equal('degraded');
    expect(t.detail).to.not.include('secret');
    expect(t.detail).to.include(consequence);
    const hung = softReadinessCheck({ name: 'c', check: () => new Promise(() => {}) }, consequence, 50);
    expect(await runReadinessCheck(hung, 1000)).to.deep.equal({ state: 'degraded', detail: `no answer in 50 ms; ${consequence}` });
  });

  it('sharedReadinessCheck: requests together share one run, and an answer serves the next second too: a flood of public /readyz or /metrics requests reaches a dependency (the chain RPC, the LLM) about once a second, not once per request', async () => {
    let runs = 0;
    let release!: () => void;
    let clock = 1_000_000;
    const c = sharedReadinessCheck({ name: 'chain', check: () => (runs++, new Promise((r) => (release = () => r({ state: 'up', detail: 'x' })))) }, { reuseMs: 1000, now: () => clock });
    expect(c.name).to.equal('chain');
    const together = Array.from({ length: 50 }, () => runReadinessCheck(c));
    release();
    for (const a of await Promise.all(together)) expect(a).to.deep.equal({ state: 'up', detail: 'x' });
    expect(runs).to.equal(1);
    clock += 999;
    expect(await runReadinessCheck(c)).to.deep.equal({ state: 'up', detail: 'x' });
    expect(runs).to.equal(1);
    clock += 2;
    const later = runReadinessCheck(c);
    release();
    expect(await later).to.deep.equal({ state: 'up', detail: 'x' });
    expect(runs).to.equal(2);
    // A failure is shared the same way, and is not kept past its second either.
    const failing = sharedReadinessCheck({ name: 'db', check: async () => (runs++, Promise.reject(new Error('down'))) }, { reuseMs: 1000, now: () => clock });
    expect((await Promise.all([runReadinessCheck(failing), runReadinessCheck(failing)])).map((a) => a.state)).to.deep.equal(['down', 'down']);
    expect(runs).to.equal(3);
    clock += 1001;
    await runReadinessCheck(failing);
    expect(runs).to.equal(4);
  });
});
