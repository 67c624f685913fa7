import MiniSearch from 'minisearch';
import { expandQuery, processTerm, words } from './text';

export type ToolDocument = { id: string; name: string; server: string; tool: string; title?: string; description: string };

export type ScoredId = { id: string; score: number };

/** BM25 (minisearch) over tool names, titles, descriptions and server names. */
export class LexicalIndex {
  private readonly ms = new MiniSearch<ToolDocument>({
    fields: ['tool', 'title', 'description', 'server'],
    storeFields: [],
    tokenize: (text) => words(text),
    processTerm,
  });

  get size(): number {
    return this.ms.documentCount;
  }

  upsert(docs: ToolDocument[]): void {
    for (const d of docs) {
      if (this.ms.has(d.id)) this.ms.discard(d.id);
      this.ms.add({ ...d, title: d.title ?? '' });
    }
  }

  remove(ids: string[]): void {
    for (const id of ids) if (this.ms.has(id)) this.ms.discard(id);
  }

  /** Up to `limit` matches, best first. Synonym expansions count for half of an original word. */
  search(q: string, limit: number, filter?: (id: string) => boolean): ScoredId[] {
    const { original, expanded } = expandQuery(q);
    if (!original.length) return [];
    const opts = {
      boost: { tool: 3, title: 2, server: 1.5, description: 1 },
      prefix: (t: string) => t.length > 4,
      fuzzy: (t: string) => (t.length > 6 ? 0.15 : false),
      filter: filter ? (r: { id: string }) => filter(r.id) : undefined,
    };
    const query = {
      combineWith: 'OR' as const,
      queries: [
        { combineWith: 'OR' as const, queries: original },
        ...(expanded.length ? [{ combineWith: 'OR' as const, queries: expanded, boost: { tool: 1.5, title: 1, server: 0.75, description: 0.5 } }] : []),
      ],
    };
    return this.ms
      .search(query as never, opts)
      .slice(0, limit)
      .map((r) => ({ id: String(r.id), score: r.score }));
  }
}
