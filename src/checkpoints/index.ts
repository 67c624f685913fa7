export type { CheckpointStore } from './port';
export { SqlCheckpointStore, saveCheckpoint, loadCheckpoint } from './sql-checkpoint-store';
export { MemoryCheckpointStore } from './memory-checkpoint-store';
