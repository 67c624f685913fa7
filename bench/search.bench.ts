/**
 * Tool search quality and size on the labelled set (test/fixtures/tools*.json):
 * recall@5 and tokens of the reduced tool list vs the full list, lexical-only and hybrid.
 * The hybrid uses EMBEDDING_MODEL_DIR (model id EMBEDDING_MODEL_ID, default `model`) when set,
 * else the generated tiny model (noise embeddings: it shows the hybrid does no harm, not semantic gain).
 *
 *   npx tsx bench/search.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../scripts/make-tiny-model';
import { loadLocalEmbedder } from '../src/search/embedder';
import { ToolSearch } from '../src/search/tool-search';
import { loadLabelledTools, measureRecall } from '../test/search/labelled-set';

async function main(): Promise<void> {
  const tools = loadLabelledTools();
  const dir = mkdtempSync(join(tmpdir(), 'omc-search-bench-'));
  try {
    const modelDir = process.env.EMBEDDING_MODEL_DIR ?? join(dir, 'models');
    const modelId = process.env.EMBEDDING_MODEL_DIR ? (process.env.EMBEDDING_MODEL_ID ?? 'model') : 'tiny';
    if (!process.env.EMBEDDING_MODEL_DIR) makeTinyModel(modelDir, modelId);
    const embedder = await loadLocalEmbedder(modelDir, modelId);
    const search = new ToolSearch({ embedder });
    const t0 = Date.now();
    await search.upsert(tools.map((t) => t.doc));
    const indexMs = Date.now() - t0;
    const lexical = await measureRecall(search, tools, 5, 0);
    const hybrid = await measureRecall(search, tools, 5);
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < 200; i++) await search.search('open an issue in a GitHub repository', 5);
    const perQueryMs = Number(process.hrtime.bigint() - t1) / 1e6 / 200;
    console.log(`tool search — ${tools.length} tools, ${lexical.queries} queries, model ${modelId}${process.env.EMBEDDING_MODEL_DIR ? '' : ' (generated tiny model)'}; indexed in ${indexMs} ms; ${perQueryMs.toFixed(2)} ms/query (hybrid)\n`);
    console.log('| ranker | recall@5 | tokens: full list | tokens: top-5 (mean) | reduced / full |');
    console.log('|---|---|---|---|---|');
    for (const [name, r] of [['lexical only (BM25)', lexical], [`hybrid (w=${search.semanticWeight})`, hybrid]] as const) {
      console.log(`| ${name} | ${r.recallAt5.toFixed(3)} | ${r.fullTokens} | ${r.reducedTokens} | ${(r.reducedShare * 100).toFixed(1)}% |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
