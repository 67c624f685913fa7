import { createHash } from 'node:crypto';
import type { Embedder } from './embedder';
import { fuseScores } from './hybrid';
import { LexicalIndex, type ToolDocument } from './lexical-index';
import { VectorIndex } from './vector-index';

export type ToolSearchStatus = { mode: 'hybrid' | 'lexical'; model?: string; reason?: string; documents: number; vectors: number };

export type ToolSearchHit = { id: string; score: number; lexical: number; semantic: number };

export type ToolSearchOptions = {
  embedder?: Embedder;
  /** Where the usearch index is persisted (e.g. DATA_DIR/search/tools.usearch). In memory when omitted. */
  indexPath?: string;
  /** Weight of the semantic score in the hybrid (0..1). Default 0.3. */
  semanticWeight?: number;
  /** Why there is no embedder (shown in status for /readyz). */
  lexicalReason?: string;
};

/** The text a tool is embedded and indexed by. */
export function toolText(d: ToolDocument): string {
  return [d.tool.replace(/[_-]+/g, ' '), d.title, d.server, d.description].filter(Boolean).join('. ');
}

/**
 * Tool discovery: BM25 always, plus embeddings in a usearch index when a local model is
 * configured (hybrid). Without a model it is lexical-only and `status()` says so.
 */
export class ToolSearch {
  private readonly lexical = new LexicalIndex();
  private readonly vectors?: VectorIndex;
  private chain: Promise<void> = Promise.resolve();
  readonly semanticWeight: number;

  constructor(private readonly options: ToolSearchOptions = {}) {
    const e = options.embedder;
    if (e) this.vectors = new VectorIndex(e.model, e.dimensions, options.indexPath);
    this.semanticWeight = e ? (options.semanticWeight ?? 0.3) : 0;
  }

  static lexicalOnly(reason: string): ToolSearch {
    return new ToolSearch({ lexicalReason: reason });
  }

  status(): ToolSearchStatus {
    const e = this.options.embedder;
    return e
      ? { mode: 'hybrid', model: e.model, documents: this.lexical.size, vectors: this.vectors?.size ?? 0 }
      : { mode: 'lexical', reason: this.options.lexicalReason ?? 'no embedding model configured', documents: this.lexical.size, vectors: 0 };
  }

  /** Add or replace documents; only texts that changed are embedded again. Resolves when indexed. */
  upsert(docs: ToolDocument[]): Promise<void> {
    this.lexical.upsert(docs);
    const vectors = this.vectors;
    const embedder = this.options.embedder;
    if (!vectors || !embedder) return Promise.resolve();
    this.chain = this.chain.then(async () => {
      const todo = docs
        .map((d) => ({ d, text: toolText(d) }))
        .map((x) => ({ ...x, hash: createHash('sha256').update(x.text).digest('hex') }))
        .filter((x) => !vectors.has(x.d.id, x.hash));
      for (let i = 0; i < todo.length; i += 32) {
        const batch = todo.slice(i, i + 32);
        const vecs = await embedder.embed(batch.map((x) => x.text));
        batch.forEach((x, j) => vectors.upsert(x.d.id, x.hash, vecs[j]));
      }
      if (todo.length) vectors.save();
    });
    return this.chain;
  }

  remove(ids: string[]): void {
    if (!ids.length) return;
    this.lexical.remove(ids);
    if (this.vectors) {
      const v = this.vectors;
      this.chain = this.chain.then(() => {
        v.remove(ids);
        v.save();
      });
    }
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
    const pool = Math.max(50, k * 10);
    const lex = this.lexical.search(q, pool, filter, scopes);
    let sem: { id: string; similarity: number }[] = [];
    if (this.vectors && this.options.embedder && weight > 0 && q.trim()) {
      await this.chain;
      const [qv] = await this.options.embedder.embed([q]);
      sem = this.vectors.search(qv, pool * 2).filter((s) => !filter || filter(s.id)).slice(0, pool);
    }
    return fuseScores(lex, sem, sem.length ? weight : 0).slice(0, k);
  }
}
