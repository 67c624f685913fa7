import { expect } from 'chai';
import { assertToken, LeaseFencedError, startLeadership, type LeaseStore } from '../../src/leader';

export type LeaseStoreFixture = {
  store: LeaseStore;
  /**
   * A write that commits only if `token` is still the newest for `lease` (the adapter's own
   * conditional write); resolves true when written, false or LeaseFencedError when fenced out.
   */
  fencedWrite(lease: string, token: number, value: string): Promise<boolean>;
  /** What the fenced writes left behind for `lease`. */
  written(lease: string): Promise<string[]>;
  /** The same store through another connection, as another process has it (default: `store`). */
  another?: LeaseStore;
  close(): Promise<void>;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, probe: () => T | undefined, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await sleep(10);
  }
}

/**
 * The standby's store in the tests where a leader's term must end before the standby takes over.
 * Both campaign in this process's event loop, which runs the timers that are due in the order they
 * were due, not in the order of the clock they read: after a stall (a loaded machine) the standby's
 * renewal, due a little before the leader's watchdog, runs first, finds the lease run out, and the
 * standby would be elected before the watchdog, due no later than that expiry, had its turn. So a
 * granted lease is answered 5 ms later (timers and store clocks count whole ms), after every
 * timer due by the store's expiry. Deployed, the two are separate processes, a stall is one
 * process's, and fencing tokens cover it.
 */
function afterDueTimers(store: LeaseStore): LeaseStore {
  return {
    name: store.name,
    acquire: async (...args) => {
      const token = await store.acquire(...args);
      if (token !== undefined) await sleep(5);
      return token;
    },
    release: (...args) => store.release(...args),
    currentToken: (l) => store.currentToken(l),
  };
}

/** The LeaseStore contract and leader election on top of it, for one adapter. */
export function describeLeaseStore(label: string, setup: (ctx: Mocha.Context) => Promise<LeaseStoreFixture>): void {
  describe(`${label}: lease store and leader election`, function () {
    let f: LeaseStoreFixture;
    let n = 0;
    let lease: string;
    before(async function () {
      f = await setup(this);
    });
    after(async () => {
      await f?.close();
    });
    beforeEach(() => {
      lease = `l${n++}`;
    });

    it('lets a leader renew while a standby on another connection keeps trying, without errors, 30 times at once', async () => {
      const standby = f.another ?? f.store;
      const token = await f.store.acquire(lease, 'leader', 60_000);
      expect(token).to.be.a('number');
      for (let round = 0; round < 30; round++) {
        const [renewed, taken] = await Promise.all([f.store.acquire(lease, 'leader', 60_000), standby.acquire(lease, 'standby', 60_000)]);
        expect(renewed, `round ${round}: the leader renews with its token`).to.equal(token);
        expect(taken, `round ${round}: the standby gets nothing`).to.equal(undefined);
      }
    });

    it('gives the lease to one holder, renews it with the same token, and issues a greater token to the next holder', async () => {
      expect(await f.store.currentToken(lease)).to.equal(0);
      const t1 = await f.store.acquire(lease, 'a', 5_000);
      expect(t1).to.be.a('number').greaterThan(0);
      expect(await f.store.acquire(lease, 'b', 5_000)).to.equal(undefined);
      expect(await f.store.acquire(lease, 'a', 5_000)).to.equal(t1);
      await f.store.release(lease, 'b'); // not b's: no effect
      expect(await f.store.acquire(lease, 'b', 5_000)).to.equal(undefined);
      await f.store.release(lease, 'a');
      const t2 = await f.store.acquire(lease, 'b', 5_000);
      expect(t2).to.be.greaterThan(t1!);
      expect(await f.store.currentToken(lease)).to.equal(t2);
    });

    it('lets another holder take an expired lease, with a new token, and the old holder cannot renew it', async () => {
      const t1 = await f.store.acquire(lease, 'a', 150);
      await sleep(250);
      const t2 = await f.store.acquire(lease, 'b', 5_000);
      expect(t2).to.be.greaterThan(t1!);
      expect(await f.store.acquire(lease, 'a', 5_000)).to.equal(undefined);
    });

    it('gives the same holder a new token when it comes back after its lease expired', async () => {
      const t1 = await f.store.acquire(lease, 'a', 100);
      await sleep(200);
      expect(await f.store.acquire(lease, 'a', 5_000)).to.be.greaterThan(t1!);
    });

    it('refuses a write carrying a deposed token and accepts the current one', async () => {
      const old = (await f.store.acquire(lease, 'a', 100))!;
      expect(await f.fencedWrite(lease, old, 'a-1')).to.equal(true);
      await sleep(200);
      const current = (await f.store.acquire(lease, 'b', 5_000))!;
      const late = await f.fencedWrite(lease, old, 'a-late').catch((err) => {
        expect(err).to.be.instanceOf(LeaseFencedError).with.property('code', 'LEASE_FENCED');
        return false;
      });
      expect(late).to.equal(false);
      expect(await f.fencedWrite(lease, current, 'b-1')).to.equal(true);
      expect(await f.written(lease)).to.deep.equal(['a-1', 'b-1']);
      expect(await assertToken(f.store, lease, old).then(() => undefined, (e) => e)).to.be.instanceOf(LeaseFencedError);
      await assertToken(f.store, lease, current);
    });

    it('has one leader among two candidates; when the leader dies the standby takes over within the TTL and the old token is fenced out', async () => {
      const ttlMs = 400;
      const terms: Array<{ who: string; token: number }> = [];
      const ended: string[] = [];
      const candidate = (who: string) =>
        startLeadership({
          name: lease,
          store: f.store,
          ttlMs,
          renewEveryMs: 80,
          holder: who,
          onElected: (token) => {
            terms.push({ who, token });
            return { stop: async () => void ended.push(who) };
          },
        });
      const a = candidate('a');
      const first = await eventually('first election', () => terms[0], 3_000);
      const b = candidate('b');
      await sleep(3 * 80);
      expect(terms, 'only one leader while the first lives').to.have.length(1);
      const [leader, standby] = first.who === 'a' ? [a, b] : [b, a];
      expect(leader.isLeader()).to.equal(true);
      expect(standby.isLeader()).to.equal(false);

      // kill -9: the leader stops renewing and never releases.
      const diedAt = Date.now();
      await leader.stop({ release: false });
      const second = await eventually('takeover', () => terms[1], ttlMs + 2_000);
      const tookMs = Date.now() - diedAt;
      expect(second.who).to.equal(standby.holder);
      expect(second.token).to.be.greaterThan(first.token);
      expect(tookMs, 'takeover within ttl + one renew interval + slack').to.be.below(ttlMs + 80 + 600);

      const late = await f.fencedWrite(lease, first.token, 'deposed').catch(() => false);
      expect(late, "the deposed leader's late write").to.equal(false);
      expect(await f.fencedWrite(lease, second.token, 'new leader')).to.equal(true);
      expect(await f.written(lease)).to.deep.equal(['new leader']);
      await standby.stop();
      expect(ended).to.have.members([first.who, second.who]);
    });

    it('ends the term of a leader cut off from the store before its lease can run out, and the standby gets a greater token', async () => {
      const ttlMs = 400;
      let cutOff = false;
      const flaky: LeaseStore = {
        name: 'flaky',
        acquire: async (...args) => {
          if (cutOff) throw new Error('store unreachable');
          return f.store.acquire(...args);
        },
        release: (...args) => f.store.release(...args),
        currentToken: (l) => f.store.currentToken(l),
      };
      const events: string[] = [];
      const a = startLeadership({
        name: lease, store: flaky, ttlMs, renewEveryMs: 80, holder: 'a',
        onElected: (token) => void events.push(`a elected ${token}`),
        onDeposed: (token, reason) => void events.push(`a deposed ${token} ${reason}`),
      });
      await eventually('a elected', () => (a.isLeader() ? true : undefined), 3_000);
      const aToken = a.token()!;
      const b = startLeadership({ name: lease, store: afterDueTimers(f.store), ttlMs, renewEveryMs: 80, holder: 'b', onElected: (token) => void events.push(`b elected ${token}`) });
      cutOff = true;
      await eventually('b elected', () => (b.isLeader() ? true : undefined), ttlMs + 2_000);
      expect(events.indexOf(`a deposed ${aToken} expired`), `a stepped down before b took over: ${events.join(', ')}`).to.be.within(0, events.findIndex((e) => e.startsWith('b elected')));
      expect(b.token()).to.be.greaterThan(aToken);
      expect(await a.assertStillLeader(aToken).then(() => undefined, (e) => e)).to.be.instanceOf(LeaseFencedError);
      await a.stop();
      await b.stop();
    });

    it('stop() returns within about a TTL when the lease store does not answer the release (a hung store must not hold up a drain)', async () => {
      const ttlMs = 300;
      const unanswered: Array<() => void> = [];
      const errors: unknown[] = [];
      const hanging: LeaseStore = {
        name: 'hanging-release',
        acquire: (...args) => f.store.acquire(...args),
        release: () => new Promise<void>((resolve) => unanswered.push(resolve)),
        currentToken: (l) => f.store.currentToken(l),
      };
      const a = startLeadership({ name: lease, store: hanging, ttlMs, renewEveryMs: 80, holder: 'a', onElected: () => undefined, onError: (e) => void errors.push(e) });
      await eventually('a elected', () => (a.isLeader() ? true : undefined), 3_000);
      let done = false;
      const stopping = a.stop().then(() => void (done = true));
      await eventually('stop() returned', () => (done ? true : undefined), ttlMs + 3_000);
      await stopping;
      expect(unanswered, 'release was asked').to.have.length(1);
      expect(String(errors.at(-1))).to.match(/did not answer the release/);
      for (const answer of unanswered.splice(0)) answer();
    });

    it('ends the term of a leader whose renewal hangs (a half-open connection) before its lease can run out', async () => {
      const ttlMs = 400;
      let hung = false;
      const unanswered: Array<() => void> = [];
      const hanging: LeaseStore = {
        name: 'hanging',
        acquire: (...args) => (hung ? new Promise<undefined>((resolve) => unanswered.push(() => resolve(undefined))) : f.store.acquire(...args)),
        release: (...args) => f.store.release(...args),
        currentToken: (l) => f.store.currentToken(l),
      };
      const events: string[] = [];
      const a = startLeadership({
        name: lease, store: hanging, ttlMs, renewEveryMs: 80, holder: 'a',
        onElected: (token) => {
          events.push(`a elected ${token}`);
          return { stop: async () => void events.push(`a stopped ${token}`) };
        },
        onDeposed: (token, reason) => void events.push(`a deposed ${token} ${reason}`),
      });
      await eventually('a elected', () => (a.isLeader() ? true : undefined), 3_000);
      const aToken = a.token()!;
      const b = startLeadership({ name: lease, store: afterDueTimers(f.store), ttlMs, renewEveryMs: 80, holder: 'b', onElected: (token) => void events.push(`b elected ${token}`) });
      hung = true;
      await eventually('b elected', () => (b.isLeader() ? true : undefined), ttlMs + 2_000);
      await eventually('a stepped down', () => (a.isLeader() ? undefined : true), 2_000);
      const bElected = events.findIndex((e) => e.startsWith('b elected'));
      expect(events.indexOf(`a stopped ${aToken}`), `a's term stopped before b took over: ${events.join(', ')}`).to.be.within(0, bElected);
      expect(events.indexOf(`a deposed ${aToken} expired`), events.join(', ')).to.be.within(0, bElected);
      for (const answer of unanswered.splice(0)) answer();
      hung = false;
      await b.stop();
      await a.stop();
    });
  });
}
