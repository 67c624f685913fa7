import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import usearch from 'usearch';

type Sidecar = { model: string; dimensions: number; nextKey: number; keys: Record<string, { key: number; textHash: string }> };

/**
 * usearch HNSW index of unit vectors (cosine) keyed by string ids, persisted to `path` with a
 * JSON sidecar (`path.json`) holding the id↔key map and a hash of each embedded text, so a restart
 * re-embeds only what changed. An index built by another model is discarded, not mixed in.
 */
export class VectorIndex {
  private index: InstanceType<typeof usearch.Index>;
  private side: Sidecar;
  private readonly byKey = new Map<number, string>();

  constructor(readonly model: string, readonly dimensions: number, private readonly path?: string, expansionSearch = 128) {
    this.index = new usearch.Index({ dimensions, metric: usearch.MetricKind.Cos, connectivity: 16, expansion_add: 128, expansion_search: expansionSearch } as never);
    this.side = { model, dimensions, nextKey: 1, keys: {} };
    if (path && existsSync(path) && existsSync(`${path}.json`)) {
      const side = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Sidecar;
      if (side.model === model && side.dimensions === dimensions) {
        this.index.load(path);
        this.side = side;
        for (const [id, v] of Object.entries(side.keys)) this.byKey.set(v.key, id);
      }
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Does `id` hold the embedding of exactly this text already? */
  has(id: string, textHash: string): boolean {
    return this.side.keys[id]?.textHash === textHash;
  }

  upsert(id: string, textHash: string, vector: Float32Array): void {
    this.remove([id]);
    const key = this.side.nextKey++;
    this.index.add(BigInt(key), vector);
    this.side.keys[id] = { key, textHash };
    this.byKey.set(key, id);
  }

  remove(ids: string[]): void {
    for (const id of ids) {
      const e = this.side.keys[id];
      if (!e) continue;
      this.index.remove(BigInt(e.key));
      this.byKey.delete(e.key);
      delete this.side.keys[id];
    }
  }

  /** Nearest ids with cosine similarity (1 - distance), best first. */
  search(vector: Float32Array, k: number): { id: string; similarity: number }[] {
    if (!this.byKey.size) return [];
    const m = this.index.search(vector, Math.min(k, this.byKey.size), 0) as { keys: BigUint64Array; distances: Float32Array };
    const out: { id: string; similarity: number }[] = [];
    for (let i = 0; i < m.keys.length; i++) {
      const id = this.byKey.get(Number(m.keys[i]));
      if (id !== undefined) out.push({ id, similarity: 1 - m.distances[i] });
    }
    return out;
  }

  /** Write index and sidecar atomically enough: the sidecar is renamed into place last. */
  save(): void {
    if (!this.path) return;
    mkdirSync(dirname(this.path), { recursive: true });
    this.index.save(this.path);
    writeFileSync(`${this.path}.json.tmp`, JSON.stringify(this.side));
    renameSync(`${this.path}.json.tmp`, `${this.path}.json`);
  }
}
