import { expect } from 'chai';
import fc from 'fast-check';
import { ConcurrencyLimiter } from '../../src/mcp/limiter';

/** A call that runs until `finish()`; `started` once the limiter let it in. */
function held(limiter: ConcurrencyLimiter, owner?: string) {
  let finish!: () => void;
  let started = false;
  let refused = false;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const run = limiter.run(async () => {
    started = true;
    await done;
  }, undefined, owner);
  run.catch((e: { code?: string }) => void (refused = e.code === 'MCP_UPSTREAM_BUSY'));
  return {
    run,
    finish,
    ended: false,
    get started() {
      return started;
    },
    get refused() {
      return refused;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ConcurrencyLimiter', () => {
  it('one owner (a tenant\'s own server): first come, first served, up to max in flight and maxQueue waiting', async () => {
    const l = new ConcurrencyLimiter(1, 2, 'upstream x');
    const a = held(l);
    const b = held(l);
    const c = held(l);
    await tick();
    expect([a.started, b.started, c.started]).to.deep.equal([true, false, false]);
    const refused = await l.run(async () => 'ran').catch((e: { code?: string }) => e.code);
    expect(refused).to.equal('MCP_UPSTREAM_BUSY');
    a.finish();
    await a.run;
    await tick();
    expect([b.started, c.started]).to.deep.equal([true, false]);
    b.finish();
    c.finish();
    await Promise.all([b.run, c.run]);
    expect(l.inFlight).to.equal(0);
  });

  describe('shared by owners (a shared server: every tenant\'s calls)', () => {
    it("a freed slot goes to the owner with the fewest calls in flight, not to the front of another owner's backlog", async () => {
      const l = new ConcurrencyLimiter(2, 100, 'upstream shared', { shared: true });
      const a = Array.from({ length: 6 }, () => held(l, 'acme'));
      await tick();
      const b = held(l, 'beta');
      await tick();
      expect(a.map((x) => x.started)).to.deep.equal([true, true, false, false, false, false]);
      a[0].finish();
      await a[0].run;
      await tick();
      expect(b.started, "beta's call runs in the first slot freed").to.equal(true);
      expect(a[2].started).to.equal(false);
      a[1].finish();
      await a[1].run;
      await tick();
      expect(a[2].started, 'then acme again').to.equal(true);
      for (const x of [...a, b]) x.finish();
      await Promise.all([...a, b].map((x) => x.run));
      expect(l.inFlight).to.equal(0);
    });

    it('one owner fills at most half the queue: another owner still waits its turn rather than being refused busy', async () => {
      const l = new ConcurrencyLimiter(1, 4, 'upstream shared', { shared: true });
      const a = [held(l, 'acme'), held(l, 'acme'), held(l, 'acme')];
      await tick();
      const over = await l.run(async () => 'ran', undefined, 'acme').catch((e: { code?: string }) => e.code);
      expect(over, "acme's third queued call").to.equal('MCP_UPSTREAM_BUSY');
      const b = held(l, 'beta');
      await tick();
      a[0].finish();
      await a[0].run;
      await tick();
      expect(b.started).to.equal(true);
      for (const x of [...a, b]) x.finish();
      await Promise.all([...a, b].map((x) => x.run));
    });

    it('a cancelled waiter leaves its owner\'s count: its place in the queue is free again', async () => {
      const l = new ConcurrencyLimiter(1, 2, 'upstream shared', { shared: true });
      const a = held(l, 'acme');
      const ac = new AbortController();
      const waiting = l.run(async () => 'ran', ac.signal, 'acme');
      ac.abort();
      expect(await waiting.catch((e: { code?: string }) => e.code)).to.equal('MCP_CALL_CANCELLED');
      const again = held(l, 'acme');
      a.finish();
      await a.run;
      await tick();
      expect(again.started).to.equal(true);
      again.finish();
      await again.run;
      expect(l.inFlight).to.equal(0);
    });
  });

  it('whatever arrives and ends in whatever order: never more than max in flight nor a queue past its bounds, every slot given back, and a call refused busy only when its queue (or, shared, its owner\'s share) is full', async () => {
    const op = fc.oneof(fc.record({ start: fc.constantFrom('acme', 'beta', 'gamma') }), fc.record({ finish: fc.nat(20) }));
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), async (shared, max, maxQueue, ops) => {
        const l = new ConcurrencyLimiter(max, maxQueue, 'upstream p', { shared });
        const cap = shared ? Math.ceil(maxQueue / 2) : maxQueue;
        const calls: ReturnType<typeof held>[] = [];
        const owners: string[] = [];
        const waitingOf = (owner?: string) => calls.filter((c, i) => !c.started && !c.refused && (owner === undefined || owners[i] === owner)).length;
        for (const o of ops) {
          if ('start' in o) {
            const owner = shared ? o.start : '';
            const full = l.inFlight >= max && (waitingOf() >= maxQueue || waitingOf(owner) >= cap);
            const c = held(l, o.start);
            calls.push(c);
            owners.push(owner);
            await tick();
            expect(c.refused, `refused busy: ${full}`).to.equal(full);
          } else {
            const running = calls.filter((c) => c.started && !c.ended);
            if (running.length) {
              const c = running[o.finish % running.length];
              c.finish();
              await c.run.catch(() => {});
              c.ended = true;
              await tick();
            }
          }
          expect(l.inFlight).to.be.at.most(max);
          expect(l.inFlight).to.equal(calls.filter((c) => c.started && !c.ended).length);
          expect(waitingOf()).to.be.at.most(maxQueue);
        }
        // Ended one by one, every call that was queued runs, and every slot comes back.
        for (let running = calls.filter((c) => c.started && !c.ended); running.length; running = calls.filter((c) => c.started && !c.ended)) {
          for (const c of running) {
            c.finish();
            await c.run.catch(() => {});
            c.ended = true;
          }
          await tick();
        }
        expect(calls.filter((c) => !c.refused && !c.started)).to.have.length(0);
        expect(l.inFlight).to.equal(0);
      }),
      { numRuns: 200 },
    );
  });
});
