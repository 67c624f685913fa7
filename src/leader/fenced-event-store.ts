import type { EventStore } from '../eventstore/port';
import { assertToken } from './assert-token';
import type { LeaseStore } from './lease-store';

/**
 * The event store as seen by one leader term: every append first checks that `token` is still
 * the newest for `lease`, so a deposed sealer or anchorer stops writing as soon as a standby took
 * over. The check precedes the append (the event store has no lease to compare in the same
 * write); the appends' expected revisions (src/proofs/batch-log.ts) close the remaining window.
 * @example onElected: (token) => startSealer(fencedEventStore(store, leases, 'sealer', token), opts, batchLog)
 */
export function fencedEventStore(store: EventStore, leases: LeaseStore, lease: string, token: number): EventStore {
  return {
    name: store.name,
    gapFreePositions: store.gapFreePositions,
    append: async (stream, events, options) => {
      await assertToken(leases, lease, token);
      return store.append(stream, events, options);
    },
    readStream: (stream, options) => store.readStream(stream, options),
    readAll: (options) => store.readAll(options),
    subscribeAll: (options) => store.subscribeAll(options),
    headPosition: () => store.headPosition(),
    ping: () => store.ping(),
    // The term does not own the store: closing it is the composition root's business.
    close: async () => {},
  };
}
