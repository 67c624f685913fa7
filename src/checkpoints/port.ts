/**
 * Where each consumer of the log (relay, in-process bus groups, projectors, sealer) records the
 * last global position it has fully handled. `load` returns undefined before the first `save`,
 * meaning "start from the beginning of the log".
 */
export interface CheckpointStore {
  load(name: string): Promise<number | undefined>;
  save(name: string, position: number): Promise<void>;
}
