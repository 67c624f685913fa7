import { expect } from 'chai';
import fc from 'fast-check';
import { ConcurrencyLimiter } from '../../src/mcp/limiter';

/** A call that runs until `finish()`; `started` once the limiter let it in (`order`: when, among all). */
let starts = 0;
function held(limiter: ConcurrencyLimiter, owner?: string, signal?: AbortSignal) {
  let finish!: () => void;
  let order = -1;
  let refused = false;
  let cancelled = false;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const run = limiter.run(async () => {
    order = starts++;
    await done;
  }, signal, owner);
  run.catch((e: { code?: string }) => {
    refused = e.code === 'MCP_UPSTREAM_BUSY';
    cancelled = e.code === 'MCP_CALL_CANCELLED';
  });
  return {
    run,
    finish,
    ended: false,
    get started() {
      return order >= 0;
    },
    get order() {
      return order;
    },
    get refused() {
      return refused;
    },
    get cancelled() {
      return cancelled;
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

    it('a freed slot is handed on at a cost of the owners waiting, not of the calls queued (every tools/call goes through it)', async () => {
      const l = new ConcurrencyLimiter(1, 400, 'upstream shared', { shared: true });
      const first = held(l, 'acme');
      const backlog = Array.from({ length: 150 }, () => held(l, 'acme'));
      const b = held(l, 'beta');
      await tick();
      // Counted, not timed: the look-ups made while the slot goes from acme's call to beta's.
      const get = Map.prototype.get;
      let gets = 0;
      Map.prototype.get = function (this: Map<unknown, unknown>, key: unknown) {
        gets++;
        return get.call(this, key);
      };
      try {
        first.finish();
        await first.run;
        await tick();
      } finally {
        Map.prototype.get = get;
      }
      expect(b.started).to.equal(true);
      expect(gets, 'map look-ups for one hand-over, 151 calls of 2 owners waiting').to.be.below(20);
      for (const x of [...backlog, b]) x.finish();
      await Promise.all([...backlog, b].map((x) => x.run));
      expect(l.inFlight).to.equal(0);
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

  it('whatever arrives, ends and gives up waiting in whatever order: never more than max in flight nor a queue past its bounds, refused busy exactly when its queue (or, shared, its owner\'s share) is full, first come first served within an owner, a freed slot to an owner with fewest in flight, and nothing left counted once all ended', async () => {
    const op = fc.oneof(
      { arbitrary: fc.record({ start: fc.constantFrom('acme', 'beta', 'gamma') }), weight: 3 },
      { arbitrary: fc.record({ finish: fc.nat(20) }), weight: 2 },
      { arbitrary: fc.record({ abort: fc.nat(20) }), weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 8 }), fc.array(op, { maxLength: 80, size: 'medium' }), async (shared, max, maxQueue, ops) => {
        const l = new ConcurrencyLimiter(max, maxQueue, 'upstream p', { shared });
        const cap = shared ? Math.max(1, Math.ceil(maxQueue / 2)) : maxQueue;
        type Call = ReturnType<typeof held> & { owner: string; abort: () => void };
        const calls: Call[] = [];
        const waiting = (owner?: string) => calls.filter((c) => !c.started && !c.refused && !c.cancelled && (owner === undefined || c.owner === owner));
        const running = (owner?: string) => calls.filter((c) => c.started && !c.ended && (owner === undefined || c.owner === owner));
        const check = () => {
          expect(l.inFlight).to.be.at.most(max);
          expect(l.inFlight).to.equal(running().length);
          expect(waiting()).to.have.length.at.most(maxQueue);
          // A slot is never left free while a call waits.
          if (waiting().length) expect(l.inFlight).to.equal(max);
        };
        for (const o of ops) {
          if ('start' in o) {
            const owner = shared ? o.start : '';
            const full = l.inFlight >= max && (waiting().length >= maxQueue || waiting(owner).length >= cap);
            const ac = new AbortController();
            const c = Object.assign(held(l, o.start, ac.signal), { owner, abort: () => ac.abort() });
            calls.push(c);
            await tick();
            expect(c.refused, `refused busy: ${full}`).to.equal(full);
          } else if ('abort' in o) {
            const w = waiting();
            if (w.length) {
              const c = w[o.abort % w.length];
              c.abort();
              await tick();
              expect(c.cancelled, 'a queued call whose caller gave up leaves the queue').to.equal(true);
            }
          } else {
            const r = running();
            if (r.length) {
              const c = r[o.finish % r.length];
              const before = new Map(calls.map((x) => [x.owner, running(x.owner).length - (x.owner === c.owner ? 1 : 0)]));
              const queued = new Set(waiting().map((x) => x.owner));
              c.finish();
              await c.run.catch(() => {});
              c.ended = true;
              await tick();
              const admitted = calls.filter((x) => x.started && !x.ended && !r.includes(x));
              expect(admitted).to.have.length(queued.size ? 1 : 0);
              if (shared && admitted.length) {
                const fewest = Math.min(...[...queued].map((owner) => before.get(owner)!));
                expect(before.get(admitted[0].owner), 'the freed slot went to an owner with the fewest calls in flight').to.equal(fewest);
              }
            }
          }
          check();
        }
        // Ended one by one, every call that was queued runs, and every slot comes back.
        for (let r = running(); r.length; r = running()) {
          for (const c of r) {
            c.finish();
            await c.run.catch(() => {});
            c.ended = true;
          }
          await tick();
        }
        expect(waiting()).to.have.length(0);
        expect(l.inFlight).to.equal(0);
        // Within an owner, calls ran in the order they came.
        for (const owner of new Set(calls.map((c) => c.owner))) {
          const orders = calls.filter((c) => c.owner === owner && c.started).map((c) => c.order);
          expect(orders, owner).to.deep.equal([...orders].sort((a, b) => a - b));
        }
        // Nothing stayed counted: the slots and each owner's share of the queue are whole again.
        const again = [...Array.from({ length: max }, () => held(l, 'acme')), ...Array.from({ length: Math.min(cap, maxQueue) }, () => held(l, 'beta'))];
        await tick();
        expect(again.filter((c) => c.refused)).to.have.length(0);
        for (const c of again) c.finish();
        await Promise.all(again.map((c) => c.run));
        expect(l.inFlight).to.equal(0);
      }),
      { numRuns: 200 },
    );
  });
});
