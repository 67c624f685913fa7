import { expect } from 'chai';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../scripts/make-tiny-model';
import { loadLocalEmbedder, type Embedder } from '../../src/search/embedder';
import { ToolSearch } from '../../src/search/tool-search';
import { loadLabelledQueries, loadLabelledTools, measureRecall } from './labelled-set';

describe('tool search: local embedding model, usearch index, BM25, hybrid ranking', function () {
  this.timeout(60_000);
  let dir: string;
  let embedder: Embedder;
  const tools = loadLabelledTools();

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'omc-search-'));
    makeTinyModel(join(dir, 'models'), 'tiny');
    embedder = await loadLocalEmbedder(join(dir, 'models'), 'tiny');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has a labelled set of at least 150 tools over many servers and 60 queries', function () {
    expect(tools.length).to.be.at.least(150);
    expect(new Set(tools.map((t) => t.doc.server)).size).to.be.at.least(20);
    expect(loadLabelledQueries().length).to.be.at.least(60);
  });

  it('loads the generated model from the local directory only and embeds to unit vectors', async function () {
    expect(embedder.dimensions).to.equal(32);
    const [a, b] = await embedder.embed(['create an issue', 'send an email']);
    expect(Math.hypot(...a)).to.be.closeTo(1, 1e-3);
    expect(Array.from(a)).to.not.deep.equal(Array.from(b));
  });

  it('refuses a missing model with a message naming EMBEDDING_MODEL_DIR (never fetches)', async function () {
    const err = await loadLocalEmbedder(join(dir, 'models'), 'Xenova/all-MiniLM-L6-v2').catch((e) => e);
    expect(err.code).to.equal('CONFIG_INVALID');
    expect(err.message).to.contain('EMBEDDING_MODEL_DIR');
  });

  it('refuses a corrupt model, one missing a tokenizer file or one that cannot run with CONFIG_INVALID, without a network request', async function () {
    const models = join(dir, 'models');
    cpSync(join(models, 'tiny'), join(models, 'corrupt'), { recursive: true });
    writeFileSync(join(models, 'corrupt', 'onnx', 'model.onnx'), Buffer.alloc(500, 3));
    cpSync(join(models, 'tiny'), join(models, 'notokenizer'), { recursive: true });
    rmSync(join(models, 'notokenizer', 'tokenizer.json'));
    // Loads, but cannot run: its graph has no last_hidden_state output.
    cpSync(join(models, 'tiny'), join(models, 'wrongoutput'), { recursive: true });
    const onnx = join(models, 'wrongoutput', 'onnx', 'model.onnx');
    writeFileSync(onnx, Buffer.from(readFileSync(onnx).toString('latin1').split('last_hidden_state').join('last_hidden_stat_'), 'latin1'));
    const requested: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (url: unknown) => {
      requested.push(String(url));
      throw new Error('no network in this test');
    }) as typeof fetch;
    try {
      for (const id of ['corrupt', 'notokenizer', 'wrongoutput', 'missing']) {
        const err = await loadLocalEmbedder(models, id).catch((e) => e);
        expect(err.code, id).to.equal('CONFIG_INVALID');
        expect(err.message).to.contain('EMBEDDING_MODEL_DIR').and.contain(id);
      }
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(requested).to.deep.equal([]);
  });

  it('says lexical-only in status when there is no model, and still finds tools', async function () {
    const s = ToolSearch.lexicalOnly('EMBEDDING_MODEL_DIR unset');
    await s.upsert(tools.map((t) => t.doc));
    expect(s.status()).to.include({ mode: 'lexical', reason: 'EMBEDDING_MODEL_DIR unset', documents: tools.length });
    const [top] = await s.search('send an SMS text message to a phone', 1);
    expect(top.id).to.equal('twilio__send_sms');
  });

  it('reaches recall@5 >= 0.9 (hybrid and lexical) with the reduced list under 30% of the full list tokens', async function () {
    const s = new ToolSearch({ embedder });
    await s.upsert(tools.map((t) => t.doc));
    expect(s.status()).to.include({ mode: 'hybrid', model: 'tiny', vectors: tools.length });
    const hybrid = await measureRecall(s, tools);
    const lexical = await measureRecall(s, tools, 5, 0);
    expect(hybrid.recallAt5, JSON.stringify(hybrid.misses, null, 1)).to.be.at.least(0.9);
    expect(lexical.recallAt5).to.be.at.least(0.9);
    expect(hybrid.reducedShare).to.be.at.most(0.3);
  });

  it('persists the vector index and re-embeds only changed tools after a restart', async function () {
    const indexPath = join(dir, 'index', 'tools.usearch');
    let embedded = 0;
    const counting: Embedder = { ...embedder, embed: (texts) => ((embedded += texts.length), embedder.embed(texts)) };
    const first = new ToolSearch({ embedder: counting, indexPath });
    await first.upsert(tools.map((t) => t.doc));
    expect(embedded).to.equal(tools.length);

    embedded = 0;
    const second = new ToolSearch({ embedder: counting, indexPath });
    const changed = { ...tools[0].doc, description: `${tools[0].doc.description} Now with reviewers.` };
    await second.upsert([changed, ...tools.slice(1).map((t) => t.doc)]);
    expect(embedded).to.equal(1);
    expect(second.status().vectors).to.equal(tools.length);
    second.remove([tools[1].doc.id]);
    await second.flush();
    expect(second.status().vectors).to.equal(tools.length - 1);
    const hits = await second.search('merge a pull request', 5, (id) => id.startsWith('github__'));
    expect(hits.every((h) => h.id.startsWith('github__'))).to.equal(true);
  });
});
