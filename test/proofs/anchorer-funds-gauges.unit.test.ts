import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { AnchorerFunds } from '../../src/proofs/anchorer';
import { trackAnchorerFunds } from '../../src/proofs/anchorer-funds-gauges';

/** The value of an unlabelled gauge as scraped ('Nan' is how prom-client writes NaN). */
async function scraped(registry: Registry, name: string): Promise<string | undefined> {
  return new RegExp(`^${name} (\\S+)$`, 'm').exec(await registry.metrics())?.[1];
}

describe('anchorer funds gauges', () => {
  it('are NaN (unknown) until the anchorer reports, then the balance, the last anchor cost and the low-funds setting in anchors', async () => {
    const registry = new Registry();
    let funds: AnchorerFunds | undefined;
    trackAnchorerFunds(registry, { funds: () => funds, lowFundsAnchors: 1000 });
    expect(await scraped(registry, 'openmcp_anchorer_balance_wei')).to.equal('Nan');
    expect(await scraped(registry, 'openmcp_anchorer_last_anchor_cost_wei')).to.equal('Nan');
    expect(await scraped(registry, 'openmcp_anchorer_low_funds_anchors')).to.equal('1000');
    funds = { account: '0xabc', balanceWei: 2_500_000_000_000_000_000n, lastAnchorCostWei: 123_053_818_736_244n };
    expect(Number(await scraped(registry, 'openmcp_anchorer_balance_wei'))).to.equal(2.5e18);
    expect(Number(await scraped(registry, 'openmcp_anchorer_last_anchor_cost_wei'))).to.equal(123053818736244);
    // A balance read when a send was refused, before any anchor of this process: cost unknown.
    funds = { account: '0xabc', balanceWei: 0n };
    expect(await scraped(registry, 'openmcp_anchorer_balance_wei')).to.equal('0');
    expect(await scraped(registry, 'openmcp_anchorer_last_anchor_cost_wei')).to.equal('Nan');
  });
});
