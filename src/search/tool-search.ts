import { createHash } from 'node:crypto';
import type { Embedder } from './embedder';
import { fuseScores } from './hybrid';
import { LexicalIndex, type ToolDocument } from './lexical-index';
import { loadOptional } from '../core/load-optional';
import type { VectorIndex } from './vector-index';

/** `reason`: why it is lexical-only, or (hybrid) why the vectors are not as they should be (a save or an embedding failed). */
export type ToolSearchStatus = { mode: 'hybrid' | 'lexical'; model?: string; reason?: string; documents: number; vectors: number };

export type ToolSearchHit = { id: string; score: number; lexical: number; semantic: number };

export type ToolSearchOptions = {
  embedder?: Embedder;
  /** Where the usearch index is persisted (e.g. DATA_DIR/search/tools.usearch). In memory when omitted. */
  indexPath?: string;
  /** Weight of the semantic score in the hybrid (0..1). Default 0.3. */
  semanticWeight?: number;
  /**
   * How long a search waits for pending index updates (ms) before it ranks with the vectors
   * there are. Default 2000: re-embedding a large catalog (first start, a discarded index) or a
   * save stuck on a slow disk delays searches by at most this, not by the whole backlog.
   */
  pendingWaitMs?: number;
  /** Why there is no embedder (shown in status for /readyz). */
  lexicalReason?: string;
  /** Told when the saved index was discarded, or an index update failed (served on from memory). */
  logger?: { warn(obj: unknown, msg?: string): void };
};

/** Characters of a query that are read (the REST API takes at most 500; search_tools and agent instructions may be longer). */
export const MAX_QUERY_CHARS = 2000;

/** The text a tool is embedded and indexed by. */
export function toolText(d: ToolDocument): string {
  return [d.tool.replace(/[_-]+/g, ' '), d.title, d.server, d.description].filter(Boolean).join('. ');
}

/** usearch (a native addon) is loaded only with an embedder, i.e. when EMBEDDING_MODEL_DIR is set. */
const vectorIndexModule = () => loadOptional('EMBEDDING_MODEL_DIR', () => require('./vector-index') as typeof import('./vector-index'));

/**
 * Tool discovery: BM25 always, plus embeddings in a usearch index when a local model is
 * configured (hybrid). Without a model it is lexical-only and `status()` says so.
 */
export class ToolSearch {
  private readonly lexical = new LexicalIndex();
  private readonly vectors?: VectorIndex;
  private chain: Promise<void> = Promise.resolve();
  /** The last index update's failure, until one succeeds (status, /readyz). */
  private failure?: string;
  /** A step failed: the saved index may lag the one in memory, so the next step saves even with nothing new. */
  private unsaved = false;
  readonly semanticWeight: number;

  constructor(private readonly options: ToolSearchOptions = {}) {
    const e = options.embedder;
    if (e) {
      // The fingerprint, not the folder name: another model under the same EMBEDDING_MODEL_ID must not reuse these vectors.
      this.vectors = new (vectorIndexModule().VectorIndex)(e.fingerprint ?? e.model, e.dimensions, options.indexPath);
      if (this.vectors.discarded) {
        options.logger?.warn({ indexPath: options.indexPath, why: this.vectors.discarded }, 'tool search: saved vector index discarded; every tool is embedded again');
      }
    }
    this.semanticWeight = e ? (options.semanticWeight ?? 0.3) : 0;
  }

  /**
   * Run index updates one after another. A failed one (disk full, read-only DATA_DIR, the model
   * throwing) is logged and shown in status; the next still runs and searches go on: the chain
   * itself never rejects.
   */
  private enqueue(what: string, fn: () => Promise<void> | void): Promise<void> {
    this.chain = this.chain.then(async () => {
      try {
        await fn();
        this.failure = undefined;
        this.unsaved = false;
      } catch (err) {
        this.failure = `${what}: ${(err as Error).message}`;
        this.unsaved = true;
        this.options.logger?.warn({ err, indexPath: this.options.indexPath }, `tool search: ${what}; searches use the vectors in memory`);
      }
    });
    return this.chain;
  }

  static lexicalOnly(reason: string): ToolSearch {
    return new ToolSearch({ lexicalReason: reason });
  }

  status(): ToolSearchStatus {
    const e = this.options.embedder;
    return e
      ? { mode: 'hybrid', model: e.model, ...(this.failure ? { reason: this.failure } : {}), documents: this.lexical.size, vectors: this.vectors?.size ?? 0 }
      : { mode: 'lexical', reason: this.options.lexicalReason ?? 'no embedding model configured', documents: this.lexical.size, vectors: 0 };
  }

  /** Add or replace documents; only texts that changed are embedded again. Resolves when indexed. */
  upsert(docs: ToolDocument[]): Promise<void> {
    this.lexical.upsert(docs);
    const vectors = this.vectors;
    const embedder = this.options.embedder;
    if (!vectors || !embedder) return Promise.resolve();
    return this.enqueue('vector index not updated', async () => {
      const todo = docs
        .map((d) => ({ d, text: toolText(d) }))
        .map((x) => ({ ...x, hash: createHash('sha256').update(x.text).digest('hex') }))
        .filter((x) => !vectors.has(x.d.id, x.hash));
      for (let i = 0; i < todo.length; i += 32) {
        const batch = todo.slice(i, i + 32);
        const vecs = await embedder.embed(batch.map((x) => x.text));
        // A text the model maps to NaN (a zero vector normalized) is left to BM25 alone.
        batch.forEach((x, j) => (vecs[j].every(Number.isFinite) ? vectors.upsert(x.d.id, x.hash, vecs[j]) : vectors.remove([x.d.id])));
      }
      if (todo.length || this.unsaved) vectors.save();
    });
  }

  remove(ids: string[]): void {
    if (!ids.length) return;
    this.lexical.remove(ids);
    const v = this.vectors;
    if (v) {
      void this.enqueue('vector index not saved', () => {
        const before = v.size;
        v.remove(ids);
        if (v.size !== before || this.unsaved) v.save();
      });
    }
  }

  /**
   * Drop every document whose id is not in `keep`: vectors saved by an earlier run for tools
   * removed since (the catalog, rebuilt from the log, is the truth). Resolves when saved.
   */
  retain(keep: Set<string>): Promise<void> {
    this.lexical.remove(this.lexical.ids().filter((id) => !keep.has(id)));
    const v = this.vectors;
    if (!v) return Promise.resolve();
    return this.enqueue('vector index not saved', () => {
      const stale = v.ids().filter((id) => !keep.has(id));
      if (!stale.length && !this.unsaved) return;
      v.remove(stale);
      v.save();
    });
  }

  /** The pending index updates, or `ms` passing, whichever comes first. */
  private async settled(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** Wait for pending index updates (tests, benchmarks). */
  flush(): Promise<void> {
    return this.chain;
  }

  /**
   * Best `k` documents for `q` among those `filter` accepts, from the documents of `scopes` (all
   * when omitted; their BM25 statistics too: see LexicalIndex).
   */
  async search(q: string, k: number, filter?: (id: string) => boolean, weight = this.semanticWeight, scopes?: string[]): Promise<ToolSearchHit[]> {
    if (!(k >= 1)) return [];
    // Only the start of a very long text (an agent's whole instruction) is read: its cost stays bounded.
    const text = q.length > MAX_QUERY_CHARS ? q.slice(0, MAX_QUERY_CHARS) : q;
    const pool = Math.max(50, k * 10);
    const lex = this.lexical.search(text, pool, filter, scopes);
    let sem: { id: string; similarity: number }[] = [];
    if (this.vectors && this.options.embedder && weight > 0 && text.trim()) {
      await this.settled(this.options.pendingWaitMs ?? 2_000);
      const [qv] = await this.options.embedder.embed([text]);
      if (qv.every(Number.isFinite)) sem = this.vectors.search(qv, pool, filter);
    }
    return fuseScores(lex, sem, sem.length ? weight : 0).slice(0, k);
  }
}
