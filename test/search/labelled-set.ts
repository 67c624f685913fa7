import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ToolDocument } from '../../src/search/lexical-index';
import type { ToolSearch } from '../../src/search/tool-search';
import { countTokens } from '../../src/search/tokens';

type FixtureTool = { name: string; description: string; params: Record<string, string> };

export type LabelledTool = { doc: ToolDocument; definition: { name: string; description: string; inputSchema: Record<string, unknown> } };

/** The labelled catalog (test/fixtures/tools.json) as search documents and MCP tool definitions. */
export function loadLabelledTools(): LabelledTool[] {
  const file = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'tools.json'), 'utf8')) as { servers: Record<string, FixtureTool[]> };
  return Object.entries(file.servers).flatMap(([server, tools]) =>
    tools.map((t) => {
      const name = `${server}__${t.name}`;
      const properties = Object.fromEntries(
        Object.entries(t.params).map(([p, spec]) => {
          const [type, ...desc] = spec.split(':');
          return [p, desc.length ? { type: type.trim(), description: desc.join(':').trim() } : { type: type.trim() }];
        }),
      );
      return {
        doc: { id: name, name, server, tool: t.name, description: t.description },
        definition: { name, description: t.description, inputSchema: { type: 'object', properties, required: Object.keys(t.params) } },
      };
    }),
  );
}

export function loadLabelledQueries(): { query: string; tools: string[] }[] {
  return (JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'tools-queries.json'), 'utf8')) as { queries: { query: string; tools: string[] }[] }).queries;
}

export type RecallReport = { recallAt5: number; queries: number; misses: { query: string; missing: string[]; got: string[] }[]; fullTokens: number; reducedTokens: number; reducedShare: number };

/**
 * recall@k = mean over queries of (needed tools found in the top k) / (needed tools).
 * Tokens: the tool list a model would get — all definitions vs the top k of each query (mean), as JSON, counted exactly with o200k_base (countTokens).
 */
export async function measureRecall(search: ToolSearch, tools: LabelledTool[], k = 5, weight?: number): Promise<RecallReport> {
  const defs = new Map(tools.map((t) => [t.doc.id, t.definition]));
  const fullTokens = countTokens(JSON.stringify({ tools: tools.map((t) => t.definition) }));
  const queries = loadLabelledQueries();
  let sum = 0;
  let reduced = 0;
  const misses: RecallReport['misses'] = [];
  for (const q of queries) {
    const hits = await search.search(q.query, k, undefined, weight);
    const got = hits.map((h) => h.id);
    const found = q.tools.filter((t) => got.includes(t));
    sum += found.length / q.tools.length;
    if (found.length < q.tools.length) misses.push({ query: q.query, missing: q.tools.filter((t) => !got.includes(t)), got });
    reduced += countTokens(JSON.stringify({ tools: got.map((id) => defs.get(id)) }));
  }
  const reducedTokens = Math.round(reduced / queries.length);
  return { recallAt5: sum / queries.length, queries: queries.length, misses, fullTokens, reducedTokens, reducedShare: reducedTokens / fullTokens };
}
