import { expect } from 'chai';
import type { Relay } from '../../src/relay/relay';
import type { RelayLeadership } from '../../src/relay/relay-leadership';
import { relayReadiness } from '../../src/relay/relay-readiness';

/** A leading candidate whose relay has published up to `position` (-1: nothing yet). */
function leading(position: number): RelayLeadership {
  return {
    holder: 'h',
    lease: 'relay:openmcp.events.v1',
    token: () => 3,
    isLeader: () => true,
    assertStillLeader: async () => {},
    stop: async () => {},
    relay: () => ({ position }) as Relay,
    stalled: () => undefined,
  };
}

describe("relayReadiness (the relay's /readyz line)", () => {
  it('says a leader has published nothing yet (its checkpoint -1) in words, not as "published up to position -1"', () => {
    expect(relayReadiness(leading(-1))).to.deep.equal({ state: 'up', detail: 'leader (token 3), nothing published yet' });
  });

  it('names the last position published', () => {
    expect(relayReadiness(leading(41))).to.deep.equal({ state: 'up', detail: 'leader (token 3), published up to position 41' });
  });
});
