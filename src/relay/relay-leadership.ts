import { errorCodeOf } from '../core/errors';
import type { CheckpointStore } from '../checkpoints/port';
import type { EventStore } from '../eventstore/port';
import { assertToken, fencedCheckpoints, startLeadership, type Leadership, type LeaseStore } from '../leader';
import { Relay, relayCheckpointName, type RelayOptions, type RelayStall } from './relay';
import { eventsTopic } from '../bus/kafka/topic';

export type StartRelayLeadershipParameters = {
  store: EventStore;
  checkpoints: CheckpointStore;
  /** Shared by every relay candidate (SqlLeaseStore, or CacheLeaseStore on Redis). */
  leases: LeaseStore;
  relay: RelayOptions;
  /** How long a dead leader holds the lease before a standby publishes (default 10 s). */
  ttlMs?: number;
  holder?: string;
  log?: (line: string) => void;
  onError?: (err: unknown) => void;
};

export type RelayLeadership = Leadership & {
  /** The lease the candidates share: one per topic (`relay:<topic>`). */
  readonly lease: string;
  /** The relay of the current term, while this process leads. */
  relay(): Relay | undefined;
  /**
   * Why nothing is being published although this candidate should: its relay is stalled, or its
   * terms keep failing to start (topic refused, Kafka unreachable). Undefined when all is well or
   * when another candidate leads.
   */
  stalled(): RelayStall | undefined;
};

/**
 * Run the relay in whichever candidate holds the lease `relay:<topic>`: any number of processes
 * may run the relay role, one publishes, the others stand by and take over within `ttlMs` and a
 * third after the leader's death (at their next try, within a third of it, when it stops cleanly:
 * it releases the lease). Every term starts a fresh Relay from the checkpoint, so a takeover
 * republishes at most the batch the old leader had not checkpointed:
 * duplicates, never gaps, as after a restart. A term whose Relay cannot start (Kafka unreachable)
 * ends and the lease is campaigned for again.
 * @example const l = startRelayLeadership({ store, checkpoints, leases: new SqlLeaseStore(knex), relay: { brokers } });
 */
export function startRelayLeadership(p: StartRelayLeadershipParameters): RelayLeadership {
  const topic = p.relay.topic ?? eventsTopic();
  const lease = relayCheckpointName(topic);
  const ttlMs = p.ttlMs ?? 10_000;
  let current: Relay | undefined;
  let startFailure: RelayStall | undefined;
  let failedAt = 0;
  const leadership = startLeadership({
    name: lease,
    store: p.leases,
    ttlMs,
    holder: p.holder,
    onElected: async (token) => {
      // The token is checked before every produce request, not only at the checkpoint: a deposed
      // leader that has not noticed yet stops publishing at its next request, not after a renewal.
      const fence = () => assertToken(p.leases, lease, token);
      const relay = new Relay(p.store, fencedCheckpoints(p.checkpoints, p.leases, lease, token), { onError: p.onError, ...p.relay, topic, fence });
      try {
        await relay.start();
      } catch (err) {
        const since = startFailure?.since ?? new Date();
        startFailure = { code: errorCodeOf(err), message: (err as Error).message, position: relay.position + 1, since };
        failedAt = Date.now();
        throw err;
      }
      startFailure = undefined;
      current = relay;
      p.log?.(`relay: elected leader for ${topic} (fencing token ${token}), publishing from position ${relay.position + 1}`);
      return {
        stop: async () => {
          if (current === relay) current = undefined;
          await relay.stop();
        },
      };
    },
    onDeposed: (token, reason) => p.log?.(`relay: term ${token} for ${topic} ended (${reason})`),
    onError: p.onError,
  });
  // A failed start is retried at each renewal while the lease is free; once another candidate leads
  // this one stops trying, and its last failure ages out.
  const stalled = () => current?.stalled ?? (startFailure && Date.now() - failedAt < 2 * ttlMs ? startFailure : undefined);
  return Object.assign(leadership, { lease, relay: () => current, stalled });
}
