import MiniSearch from 'minisearch';
import { expandQuery, processTerm, words } from './text';

/** A tool as indexed. `scope`: whose corpus it belongs to (a tenant, or `*` for shared servers); one corpus when omitted. */
export type ToolDocument = { id: string; name: string; server: string; tool: string; title?: string; description: string; scope?: string };

export type ScoredId = { id: string; score: number };

/** Longest query word matched with typos allowed. */
const MAX_FUZZY_TERM = 40;

function corpus(): MiniSearch<ToolDocument> {
  return new MiniSearch<ToolDocument>({
    fields: ['tool', 'title', 'description', 'server'],
    storeFields: [],
    tokenize: (text) => words(text),
    processTerm,
  });
}

/**
 * BM25 (minisearch) over tool names, titles, descriptions and server names, one corpus per scope:
 * BM25 weighs a word by how rare it is in its corpus, so a corpus shared by tenants would let one
 * tenant's tools move another's scores (and reveal which words they use). A search reads the
 * scopes it is given and merges their matches by score.
 */
export class LexicalIndex {
  private readonly scopes = new Map<string, MiniSearch<ToolDocument>>();
  /** The scope each document is in, and the document as indexed (removing it takes its words). */
  private readonly scopeOf = new Map<string, string>();
  private readonly indexed = new Map<string, ToolDocument>();

  get size(): number {
    return this.scopeOf.size;
  }

  ids(): string[] {
    return [...this.scopeOf.keys()];
  }

  upsert(docs: ToolDocument[]): void {
    for (const d of docs) {
      this.remove([d.id]);
      const scope = d.scope ?? '';
      let ms = this.scopes.get(scope);
      if (!ms) this.scopes.set(scope, (ms = corpus()));
      const added = { ...d, title: d.title ?? '' };
      ms.add(added);
      this.scopeOf.set(d.id, scope);
      this.indexed.set(d.id, added);
    }
  }

  remove(ids: string[]): void {
    for (const id of ids) {
      const scope = this.scopeOf.get(id);
      if (scope === undefined) continue;
      const ms = this.scopes.get(scope)!;
      // remove, not discard: a discarded document's words stay in the index until a search meets
      // them, so the first search after it counted them in BM25 (scores unlike every later one's,
      // negative ones too) and replicas that had searched or not answered differently.
      ms.remove(this.indexed.get(id)!);
      this.scopeOf.delete(id);
      this.indexed.delete(id);
      if (ms.documentCount === 0) this.scopes.delete(scope);
    }
  }

  /**
   * Up to `limit` matches in `scopes` (every scope when omitted), best first. Synonym expansions
   * count for half of an original word.
   */
  search(q: string, limit: number, filter?: (id: string) => boolean, scopes?: string[]): ScoredId[] {
    const { original, expanded } = expandQuery(q);
    if (!original.length) return [];
    const opts = {
      boost: { tool: 3, title: 2, server: 1.5, description: 1 },
      prefix: (t: string) => t.length > 4,
      // Fuzzy matching costs (term length)² per indexed term: a 100 000-letter word would need a
      // 10 GB matrix. No tool word is that long, so long words are matched exactly or as prefixes.
      fuzzy: (t: string) => (t.length > 6 && t.length <= MAX_FUZZY_TERM ? 0.15 : false),
      filter: filter ? (r: { id: string }) => filter(r.id) : undefined,
    };
    const query = {
      combineWith: 'OR' as const,
      queries: [
        { combineWith: 'OR' as const, queries: original },
        ...(expanded.length ? [{ combineWith: 'OR' as const, queries: expanded, boost: { tool: 1.5, title: 1, server: 0.75, description: 0.5 } }] : []),
      ],
    };
    const read = scopes ? scopes.map((s) => this.scopes.get(s)).filter((ms) => ms !== undefined) : [...this.scopes.values()];
    return read
      .flatMap((ms) => ms.search(query as never, opts).slice(0, limit))
      .map((r) => ({ id: String(r.id), score: r.score }))
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit);
  }
}
