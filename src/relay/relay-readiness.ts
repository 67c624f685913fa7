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
  return { state: 'up', detail: `leader (token ${l.token()}), published up to position ${l.relay()?.position ?? -1}` };
}
