import type { CheckpointStore } from '../checkpoints/port';
import { assertToken } from './assert-token';
import type { LeaseStore } from './lease-store';

/**
 * The checkpoint store as one leader term sees it: a save first checks that `token` is still the
 * newest for `lease`, so a deposed leader finishing its last batch cannot move the checkpoint back
 * under the new one. The twin of fencedEventStore, with the same check-before-write window.
 * @example onElected: (token) => new Relay(store, fencedCheckpoints(checkpoints, leases, 'relay:…', token), opts)
 */
export function fencedCheckpoints(checkpoints: CheckpointStore, leases: LeaseStore, lease: string, token: number): CheckpointStore {
  return {
    load: (name) => checkpoints.load(name),
    save: async (name, position) => {
      await assertToken(leases, lease, token);
      await checkpoints.save(name, position);
    },
  };
}
