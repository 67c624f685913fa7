import type { CheckpointStore } from '../checkpoints/port';
import type { EventStore } from '../eventstore/port';
import { fencedCheckpoints, startLeadership, type Leadership, type LeaseStore } from '../leader';
import { Relay, relayCheckpointName, type RelayOptions } from './relay';
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
};

/**
 * Run the relay in whichever candidate holds the lease `relay:<topic>`: any number of processes
 * may run the relay role, one publishes, the others stand by and take over within `ttlMs` of the
 * leader's death (at once when it stops cleanly). Every term starts a fresh Relay from the
 * checkpoint, so a takeover republishes at most the batch the old leader had not checkpointed:
 * duplicates, never gaps, as after a restart. A term whose Relay cannot start (Kafka unreachable)
 * ends and the lease is campaigned for again.
 * @example const l = startRelayLeadership({ store, checkpoints, leases: new SqlLeaseStore(knex), relay: { brokers } });
 */
export function startRelayLeadership(p: StartRelayLeadershipParameters): RelayLeadership {
  const topic = p.relay.topic ?? eventsTopic();
  const lease = relayCheckpointName(topic);
  let current: Relay | undefined;
  const leadership = startLeadership({
    name: lease,
    store: p.leases,
    ttlMs: p.ttlMs ?? 10_000,
    holder: p.holder,
    onElected: async (token) => {
      const relay = new Relay(p.store, fencedCheckpoints(p.checkpoints, p.leases, lease, token), { onError: p.onError, ...p.relay, topic });
      await relay.start();
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
  return Object.assign(leadership, { lease, relay: () => current });
}
