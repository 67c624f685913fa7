import { expect } from 'chai';
import fc from 'fast-check';
import { TenantBreakers } from '../../src/mcp/tenant-breakers';
import { until } from './support/until';

const settings = { errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: 60_000, rollingCountTimeoutMs: 60_000 };
class Counted extends Error {}
class Other extends Error {}
class Answered extends Error {}
const REFUSED = 'refused by its tenant';

/** Counted: a failure of the tenant's call; Answered: an error the upstream answered; anything else says nothing of the call. */
const judge = (err: unknown) => (err instanceof Counted ? 'failure' : err instanceof Answered ? 'answer' : 'nothing') as 'failure' | 'answer' | 'nothing';

/** Breakers whose action fails as each call says: `counted` (a call's own timeout), `other` (anything else), or answers. */
function breakers(s = settings, changed?: (tenant: string, state: 'open' | 'closed') => void) {
  return new TenantBreakers(
    async (outcome: 'ok' | 'counted' | 'other' | 'answered') => {
      if (outcome === 'counted') throw new Counted();
      if (outcome === 'other') throw new Other();
      if (outcome === 'answered') throw new Answered();
      return 'ok';
    },
    s,
    judge,
    () => new Error(REFUSED),
    changed,
  );
}

describe('TenantBreakers: one circuit per tenant', () => {
  it("refuses only the tenants whose own calls failed, never another tenant's; failures that do not count open nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ tenant: fc.constantFrom('a', 'b', 'c'), outcome: fc.constantFrom('ok', 'counted', 'other') as fc.Arbitrary<'ok' | 'counted' | 'other'> }), { maxLength: 60 }),
        async (calls) => {
          const b = breakers();
          try {
            // Only tenant a's calls may fail in a way that counts.
            const refused = new Set<string>();
            for (const c of calls) {
              const outcome = c.tenant === 'a' ? c.outcome : c.outcome === 'counted' ? 'other' : c.outcome;
              const got = await b.fire(c.tenant, outcome).catch((e: Error) => e.message);
              if (got === REFUSED) refused.add(c.tenant);
            }
            expect([...refused].filter((t) => t !== 'a'), 'tenants refused though none of their calls counted').to.deep.equal([]);
            expect(b.state('b')).to.equal('closed');
            expect(b.state('c')).to.equal('closed');
            expect(b.open).to.equal(b.state('a') === 'closed' ? 0 : 1);
          } finally {
            b.close();
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('opens a tenant whose calls mostly fail (volume reached), and its calls are refused without running', async () => {
    const b = breakers();
    try {
      for (let i = 0; i < 3; i++) await b.fire('a', 'counted').catch(() => {});
      expect(b.state('a')).to.equal('open');
      expect(await b.fire('a', 'ok').catch((e: Error) => e.message)).to.equal(REFUSED);
      expect(await b.fire('b', 'ok')).to.equal('ok');
      expect(b.open).to.equal(1);
    } finally {
      b.close();
    }
  });

  it('passes on, unchanged, an open circuit refused inside it (the server\'s): not its tenant\'s refusal', async () => {
    const inner = Object.assign(new Error('Breaker is open'), { code: 'EOPENBREAKER' });
    const b = new TenantBreakers(async () => Promise.reject(inner), settings, () => 'nothing', () => new Error(REFUSED));
    try {
      expect(await b.fire('a').catch((e: Error) => e)).to.equal(inner);
    } finally {
      b.close();
    }
  });
});

describe("TenantBreakers: a half-open circuit's call through", () => {
  // Opened by one failure; half-open 50 ms later; failures kept in the window (no drop meanwhile).
  const quick = { ...settings, volumeThreshold: 1, resetTimeoutMs: 50 };

  it('that says nothing of the call (cancelled, the server down or refusing) opens it again, unannounced; an answer closes it', async () => {
    const changes: string[] = [];
    const b = breakers(quick, (t, s) => changes.push(`${t} ${s}`));
    try {
      await b.fire('a', 'counted').catch(() => {});
      for (const outcome of ['other', 'other'] as const) {
        await until('half-open', () => b.state('a') === 'half-open');
        expect(await b.fire('a', outcome).catch((e: Error) => e), 'passed on as it came').to.be.instanceOf(Other);
        expect(b.state('a'), `after a call through that ended ${outcome}`).to.equal('open');
      }
      await until('half-open', () => b.state('a') === 'half-open');
      expect(await b.fire('a', 'answered').catch((e: Error) => e)).to.be.instanceOf(Answered);
      expect(b.state('a')).to.equal('closed');
      expect(changes).to.deep.equal(['a open', 'a closed']);
    } finally {
      b.close();
    }
  });

  it("refused by the server's open circuit inside it: opens it again, and the server's refusal is passed on, not its tenant's", async () => {
    const inner = Object.assign(new Error('Breaker is open'), { code: 'EOPENBREAKER' });
    let refuse = false;
    const b = new TenantBreakers(async () => (refuse ? Promise.reject(inner) : Promise.reject(new Counted())), quick, judge, () => new Error(REFUSED));
    try {
      await b.fire('a').catch(() => {});
      await until('half-open', () => b.state('a') === 'half-open');
      refuse = true;
      expect(await b.fire('a').catch((e: Error) => e)).to.equal(inner);
      expect(b.state('a')).to.equal('open');
    } finally {
      b.close();
    }
  });
});

describe('TenantBreakers: dropping idle breakers', () => {
  const short = { errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeoutMs: 50, rollingCountTimeoutMs: 50 };

  it('keeps the breaker of a tenant with a call in flight, however many windows pass; drops it once the call has ended', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const changes: string[] = [];
    const b = new TenantBreakers(async () => held, short, () => 'nothing', () => new Error(REFUSED), (t, s) => changes.push(`${t} ${s}`));
    try {
      const call = b.fire('a');
      // Five windows turn (a sweep at each) while the call is in flight.
      await new Promise((r) => setTimeout(r, 5 * short.rollingCountTimeoutMs));
      expect(b.size).to.equal(1);
      release();
      await call;
      await until('dropped', () => b.size === 0);
      expect(changes, 'a closed circuit dropped is no change').to.deep.equal([]);
    } finally {
      b.close();
    }
  });

  it('says a tenant\'s circuit closed when its breaker is dropped not yet closed (half-open, no call since): its calls are no longer refused', async () => {
    const changes: string[] = [];
    const b = new TenantBreakers(async () => Promise.reject(new Counted()), short, judge, () => new Error(REFUSED), (t, s) => changes.push(`${t} ${s}`));
    try {
      await b.fire('a').catch(() => {});
      expect(b.state('a')).to.equal('open');
      await until('dropped', () => b.size === 0);
      expect(b.state('a')).to.equal('closed');
      expect(changes).to.deep.equal(['a open', 'a closed']);
    } finally {
      b.close();
    }
  });
});
