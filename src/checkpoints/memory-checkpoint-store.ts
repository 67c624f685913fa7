import type { CheckpointStore } from './port';

/** In-process twin of the SQL checkpoint store, for the in-memory event store and fast tests. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly positions = new Map<string, number>();

  async load(name: string): Promise<number | undefined> {
    return this.positions.get(name);
  }

  async save(name: string, position: number): Promise<void> {
    this.positions.set(name, position);
  }
}
