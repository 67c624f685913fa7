import { expect } from 'chai';
import fc from 'fast-check';
import { TenantBreakers } from '../../src/mcp/tenant-breakers';
import { until } from './support/until';

const settings = { errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: 60_000, rollingCountTimeoutMs: 60_000 };
class Counted extends Error {}
class Other extends Error {}
const REFUSED = 'refused by its tenant';

/** Breakers whose action fails as each call says: `counted` (a call's own timeout), `other` (anything else), or answers. */
function breakers() {
  return new TenantBreakers(
    async (outcome: 'ok' | 'counted' | 'other') => {
      if (outcome === 'counted') throw new Counted();
      if (outcome === 'other') throw new Other();
      return 'ok';
    },
    settings,
    (err) => err instanceof Counted,
    () => new Error(REFUSED),
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
    const b = new TenantBreakers(async () => Promise.reject(inner), settings, () => false, () => new Error(REFUSED));
    try {
      expect(await b.fire('a').catch((e: Error) => e)).to.equal(inner);
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
    const b = new TenantBreakers(async () => held, short, () => false, () => new Error(REFUSED), (t, s) => changes.push(`${t} ${s}`));
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
    const b = new TenantBreakers(async () => Promise.reject(new Counted()), short, (err) => err instanceof Counted, () => new Error(REFUSED), (t, s) => changes.push(`${t} ${s}`));
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
