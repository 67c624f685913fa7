import type { RelayLeadership } from './relay-leadership';

export type RelayReadiness = { state: 'up' | 'degraded'; detail: string };

/**
 * The relay's line in /readyz: degraded (not down: the API still serves) while publishing is held
 * up, naming the code, the position it is held at and since when; otherwise leader or standby.
 * @example { name: `relay (${topic})`, check: async () => relayReadiness(leadership) }
 */
export function relayReadiness(l: RelayLeadership): RelayReadiness {
  const stall = l.stalled();
  if (stall) return { state: 'degraded', detail: `stalled at position ${stall.position} since ${stall.since.toISOString()}: ${stall.code}: ${stall.message}` };
  if (!l.isLeader()) return { state: 'up', detail: 'standby' };
  const position = l.relay()?.position ?? -1;
  return { state: 'up', detail: `leader (token ${l.token()}), ${position < 0 ? 'nothing published yet' : `published up to position ${position}`}` };
}
