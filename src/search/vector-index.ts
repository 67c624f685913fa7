import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import usearch from 'usearch';
import { durableRename, fsyncPath } from './durable-file';

/**
 * The JSON sidecar of a saved index. `indexSha256` binds it to the index file it was saved with:
 * the two are renamed into place one after the other, so a crash between the renames leaves a
 * pair that does not match, which is then discarded instead of trusted.
 */
type Sidecar = { model: string; dimensions: number; nextKey: number; keys: Record<string, { key: number; textHash: string }>; indexSha256?: string };

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A temporary file this old is a leftover of a save that was killed (a save takes milliseconds). */
const LEFTOVER_AGE_MS = 10 * 60_000;

/** Delete temporary files of saves killed long ago (not those of a save running now in another process). */
function removeLeftovers(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    try {
      if (Date.now() - statSync(join(dir, n)).mtimeMs > LEFTOVER_AGE_MS) rmSync(join(dir, n), { force: true });
    } catch {
      // Gone already (another process cleaned it): nothing to do.
    }
  }
}

/**
 * usearch HNSW index of unit vectors (cosine) keyed by string ids, persisted to `path` with a
 * JSON sidecar (`path.json`) holding the id↔key map and a hash of each embedded text, so a restart
 * re-embeds only what changed. A saved index that cannot be trusted (truncated or corrupt files,
 * a crash between saving the two, another model or dimension, an older release's files) is
 * discarded, not mixed in: it starts empty (`discarded` says why) and its owner re-embeds the
 * catalog, rebuilt from the log.
 */
export class VectorIndex {
  private index: InstanceType<typeof usearch.Index>;
  private side: Sidecar;
  private readonly byKey = new Map<number, string>();
  /** Why the index saved at `path` was not loaded (undefined when loaded or when there was none). */
  readonly discarded?: string;

  constructor(readonly model: string, readonly dimensions: number, private readonly path?: string, private readonly expansionSearch = 128) {
    this.index = this.empty();
    this.side = { model, dimensions, nextKey: 1, keys: {} };
    if (path) removeLeftovers(path);
    if (path && (existsSync(path) || existsSync(`${path}.json`))) {
      try {
        this.load(path);
      } catch (err) {
        this.discarded = (err as Error).message;
        this.index = this.empty();
        this.side = { model, dimensions, nextKey: 1, keys: {} };
        this.byKey.clear();
      }
    }
  }

  private empty(): InstanceType<typeof usearch.Index> {
    return new usearch.Index({ dimensions: this.dimensions, metric: usearch.MetricKind.Cos, connectivity: 16, expansion_add: 128, expansion_search: this.expansionSearch } as never);
  }

  /** Throws, saying why, unless the files at `path` are a matching pair saved by this model at this dimension. */
  private load(path: string): void {
    const side = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Sidecar;
    if (side.model !== this.model || side.dimensions !== this.dimensions) {
      throw new Error(`saved by model ${String(side.model)} (${String(side.dimensions)} dimensions), not ${this.model} (${this.dimensions})`);
    }
    if (typeof side.indexSha256 !== 'string' || typeof side.nextKey !== 'number' || typeof side.keys !== 'object' || !side.keys) {
      throw new Error('sidecar without an index digest (an older release or a corrupt file)');
    }
    if (sha256(readFileSync(path)) !== side.indexSha256) throw new Error('index file does not match its sidecar (a save was interrupted)');
    this.index.load(path);
    // Another process sharing DATA_DIR may have renamed its index into place between the check and the load.
    if (sha256(readFileSync(path)) !== side.indexSha256) throw new Error('index file replaced while loading (another process saved)');
    const entries = Object.entries(side.keys);
    if (this.index.size() !== entries.length) throw new Error(`index holds ${this.index.size()} vectors, its sidecar ${entries.length}`);
    this.side = side;
    for (const [id, v] of entries) this.byKey.set(v.key, id);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The ids that have a vector. */
  ids(): string[] {
    return Object.keys(this.side.keys);
  }

  /** Does `id` hold the embedding of exactly this text already? */
  has(id: string, textHash: string): boolean {
    return this.side.keys[id]?.textHash === textHash;
  }

  /** Requires `vector` of `dimensions` finite numbers (a NaN would make every distance to it NaN). */
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

  /**
   * Nearest ids with cosine similarity (1 - distance), best first: the `k` best among those
   * `accept` takes (all when omitted). The search widens until it has `k` accepted or has seen
   * every vector, so ids that `accept` refuses (other tenants' tools) never crowd out the rest.
   */
  search(vector: Float32Array, k: number, accept?: (id: string) => boolean): { id: string; similarity: number }[] {
    const total = this.byKey.size;
    if (!total || k < 1) return [];
    for (let want = Math.min(k, total); ; want = Math.min(want * 4, total)) {
      const m = this.index.search(vector, want, 0) as { keys: BigUint64Array; distances: Float32Array };
      const out: { id: string; similarity: number }[] = [];
      for (let i = 0; i < m.keys.length && out.length < k; i++) {
        const id = this.byKey.get(Number(m.keys[i]));
        const similarity = 1 - m.distances[i];
        if (id !== undefined && Number.isFinite(similarity) && (!accept || accept(id))) out.push({ id, similarity });
      }
      if (out.length >= k || want >= total) return out;
    }
  }

  /**
   * Write index and sidecar crash-safely: each to a temporary file, fsynced, then renamed into
   * place (index first), the directory fsynced. A crash at any point leaves either the previous
   * pair, or a pair whose digest does not match (discarded at the next start): never a sidecar
   * vouching for vectors the index does not hold. Throws on I/O errors (disk full, read-only).
   */
  save(): void {
    if (!this.path) return;
    const path = this.path;
    mkdirSync(dirname(path), { recursive: true });
    // Names of this save alone: processes sharing DATA_DIR each hash and rename their own files,
    // so their saves can only leave a pair that does not match (discarded), never one that matches wrongly.
    const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
    const tmpIndex = `${path}.${tag}.tmp`;
    const tmpSide = `${path}.json.${tag}.tmp`;
    try {
      this.index.save(tmpIndex);
      fsyncPath(tmpIndex);
      const side: Sidecar = { ...this.side, indexSha256: sha256(readFileSync(tmpIndex)) };
      writeFileSync(tmpSide, JSON.stringify(side));
      fsyncPath(tmpSide);
      durableRename(tmpIndex, path);
      durableRename(tmpSide, `${path}.json`);
    } catch (err) {
      rmSync(tmpIndex, { force: true });
      rmSync(tmpSide, { force: true });
      throw err;
    }
  }
}
