import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../scripts/make-tiny-model';
import { loadLocalEmbedder, type Embedder } from '../../src/search/embedder';
import type { ToolDocument } from '../../src/search/lexical-index';
import { ToolSearch } from '../../src/search/tool-search';
import { VectorIndex } from '../../src/search/vector-index';
import { IDS, vectorOf } from './support/save-loop';

const doc = (id: string, description: string, scope?: string): ToolDocument => ({ id, name: id, server: id.split('/')[0], tool: id.split('/')[1], description, scope });
const DOCS = [doc('gh/create_issue', 'Create an issue in a repository'), doc('mail/send_email', 'Send an email to a recipient'), doc('fs/read_file', 'Read a file from disk')];

describe('tool search: the saved vector index survives crashes, corruption, other models and unwritable disks', function () {
  this.timeout(60_000);
  let dir: string;
  let embedder: Embedder;
  let n = 0;
  const warnings: string[] = [];
  const logger = { warn: (_o: unknown, msg?: string) => void warnings.push(msg ?? '') };
  const fresh = () => join(dir, `case-${n++}`, 'tools.usearch');
  const counting = () => {
    const c = { embedded: 0, embedder: undefined as unknown as Embedder };
    c.embedder = { ...embedder, embed: (texts) => ((c.embedded += texts.length), embedder.embed(texts)) };
    return c;
  };
  /** An index saved with DOCS, as a previous run left it. */
  async function saved(): Promise<string> {
    const path = fresh();
    const s = new ToolSearch({ embedder, indexPath: path });
    await s.upsert(DOCS);
    return path;
  }
  /** A restart on `path`: every tool upserted again (as the gateway does from the log); the vectors are right. */
  async function restartAndCheck(path: string, expectEmbedded: number): Promise<void> {
    const c = counting();
    const s = new ToolSearch({ embedder: c.embedder, indexPath: path, logger });
    await s.upsert(DOCS);
    expect(c.embedded, 'tools embedded at restart').to.equal(expectEmbedded);
    expect(s.status()).to.include({ mode: 'hybrid', vectors: DOCS.length });
    expect(s.status().reason).to.equal(undefined);
    // Each tool's own text finds it first by meaning alone (weight 1): its vector is really there.
    for (const d of DOCS) expect((await s.search(`${d.tool.replace(/_/g, ' ')}. ${d.server}. ${d.description}`, 1, undefined, 1))[0].id).to.equal(d.id);
    // And what it saved loads cleanly next time.
    expect(new VectorIndex(embedder.fingerprint!, embedder.dimensions, path).discarded).to.equal(undefined);
  }

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'omc-search-recovery-'));
    makeTinyModel(join(dir, 'models'), 'tiny');
    embedder = await loadLocalEmbedder(join(dir, 'models'), 'tiny');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => (warnings.length = 0));

  it('reuses an intact index (nothing embedded again)', async function () {
    await restartAndCheck(await saved(), 0);
    expect(warnings).to.deep.equal([]);
  });

  for (const [what, damage] of [
    ['a truncated index file (killed while saving)', (p: string) => truncateSync(p, Math.floor(readFileSync(p).length / 2))],
    ['an empty index file', (p: string) => truncateSync(p, 0)],
    ['an index file of garbage', (p: string) => writeFileSync(p, Buffer.alloc(readFileSync(p).length, 7))],
    ['a truncated sidecar', (p: string) => writeFileSync(`${p}.json`, readFileSync(`${p}.json`).subarray(0, 30))],
    ['a missing sidecar', (p: string) => rmSync(`${p}.json`)],
  ] as const) {
    it(`starts, warns and re-embeds every tool over ${what}`, async function () {
      const path = await saved();
      damage(path);
      await restartAndCheck(path, DOCS.length);
      expect(warnings.join('\n')).to.contain('saved vector index discarded');
    });
  }

  it('discards a pair torn by a crash between the two renames (new index, old sidecar) instead of trusting vectors that are gone', async function () {
    const path = await saved();
    const oldSide = readFileSync(`${path}.json`);
    // The next run changes a tool's text: it is embedded again under a new key and saved…
    const s = new ToolSearch({ embedder, indexPath: path });
    await s.upsert([{ ...DOCS[0], description: 'Open a new ticket' }]);
    // …and the process dies after the index is in place, before the sidecar is.
    writeFileSync(`${path}.json`, oldSide);
    await restartAndCheck(path, DOCS.length);
  });

  it('discards an index saved by another model or at another dimension', async function () {
    const path = await saved();
    const other = join(dir, 'other', 'tools.usearch');
    const v = new VectorIndex('other#0', 8, other);
    v.upsert(DOCS[0].id, 'x', new Float32Array(8).fill(0.35));
    v.save();
    // Same folder name, another model: only the fingerprint tells them apart.
    expect(new VectorIndex('tiny#0000', embedder.dimensions, path).discarded).to.match(/saved by model/);
    writeFileSync(path, readFileSync(other));
    writeFileSync(`${path}.json`, readFileSync(`${other}.json`));
    await restartAndCheck(path, DOCS.length);
  });

  it('saves through temporary files renamed into place (none left behind; leftovers of killed saves ignored, old ones deleted)', async function () {
    const path = await saved();
    expect(readdirSync(join(path, '..')).sort()).to.deep.equal(['tools.usearch', 'tools.usearch.json']);
    writeFileSync(`${path}.1-old.tmp`, 'half written, long ago');
    utimesSync(`${path}.1-old.tmp`, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    writeFileSync(`${path}.json.2-now.tmp`, 'another process saving right now');
    await restartAndCheck(path, 0);
    expect(readdirSync(join(path, '..')).sort()).to.deep.equal(['tools.usearch', 'tools.usearch.json', 'tools.usearch.json.2-now.tmp']);
  });

  it('processes sharing DATA_DIR save at once: every save succeeds and a load never takes a mismatched pair', async function () {
    const path = fresh();
    mkdirSync(join(path, '..'), { recursive: true });
    const loop = join(__dirname, 'support', 'save-loop.ts');
    const run = (seed: number) =>
      new Promise<number | null>((resolve) => spawn(process.execPath, ['--import', 'tsx', loop, path, String(seed), '300'], { stdio: ['ignore', 'ignore', 'inherit'] }).on('exit', resolve));
    let done = false;
    const both = Promise.all([run(1), run(2)]).finally(() => (done = true));
    let wrong = 0;
    let loaded = 0;
    while (!done) {
      const v = new VectorIndex('m', 16, path);
      if (!v.discarded && v.size) {
        loaded++;
        if (!IDS.every((id) => v.search(vectorOf(id), 1)[0]?.id === id)) wrong++;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(await both, 'exit codes of the saving processes').to.deep.equal([0, 0]);
    expect(wrong, `loads that mapped ids to other vectors (of ${loaded})`).to.equal(0);
  });

  it('an unwritable DATA_DIR: searches and later updates go on from memory, status says why, no unhandled rejection', async function () {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'a file where the directory should be');
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const s = new ToolSearch({ embedder, indexPath: join(blocker, 'search', 'tools.usearch'), logger });
      await s.upsert(DOCS.slice(0, 2));
      expect(s.status().reason).to.match(/^vector index not updated: ENOTDIR/);
      await s.upsert(DOCS.slice(2));
      s.remove([DOCS[0].id]);
      await s.flush();
      await new Promise((r) => setImmediate(r));
      expect(s.status()).to.include({ vectors: 2 });
      expect((await s.search('read a file', 1, undefined, 1))[0].id).to.equal('fs/read_file');
      expect(unhandled).to.deep.equal([]);
      expect(warnings.length).to.be.greaterThan(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(existsSync(join(blocker, 'search'))).to.equal(false);
  });

  it('a full disk: the save fails, the previous saved pair stays whole and loads (a 64 KiB tmpfs; skipped where mounting is not allowed)', async function () {
    const mnt = join(dir, 'full');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      this.skip();
    }
    try {
      const path = join(mnt, 'tools.usearch');
      const vec = (i: number) => Float32Array.from({ length: 64 }, (_, j) => (j === i % 64 ? 1 : j === (i * 7) % 64 ? 0.5 : 0));
      const v = new VectorIndex('m', 64, path);
      for (let i = 0; i < 20; i++) v.upsert(`t${i}`, 'h', vec(i));
      v.save();
      for (let i = 20; i < 200; i++) v.upsert(`t${i}`, 'h', vec(i));
      expect(() => v.save()).to.throw();
      expect(readdirSync(mnt).sort()).to.deep.equal(['tools.usearch', 'tools.usearch.json']);
      const again = new VectorIndex('m', 64, path);
      expect(again.discarded).to.equal(undefined);
      expect(again.size).to.equal(20);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('stays degraded until a save succeeds, then saves what was kept in memory', async function () {
    const path = join(dir, 'later', 'tools.usearch');
    writeFileSync(join(dir, 'later'), 'the disk is "full"');
    const s = new ToolSearch({ embedder, indexPath: path, logger });
    await s.upsert(DOCS);
    expect(s.status().reason).to.match(/^vector index not updated: EEXIST/);
    await s.upsert(DOCS); // nothing new to embed: still not saved
    expect(s.status().reason).to.match(/^vector index not updated: EEXIST/);
    rmSync(join(dir, 'later'));
    await s.upsert(DOCS);
    expect(s.status().reason).to.equal(undefined);
    expect(new ToolSearch({ embedder, indexPath: path }).status().vectors).to.equal(DOCS.length);
  });

  it('retain() drops the vectors of tools removed while the process was down', async function () {
    const path = await saved();
    const s = new ToolSearch({ embedder, indexPath: path });
    await s.upsert(DOCS.slice(1));
    expect(s.status().vectors).to.equal(3);
    await s.retain(new Set(DOCS.slice(1).map((d) => d.id)));
    expect(s.status()).to.include({ vectors: 2, documents: 2 });
    expect(new ToolSearch({ embedder, indexPath: path }).status().vectors).to.equal(2);
  });

  it('a search does not wait for a whole backlog of embeddings: it ranks with the vectors there are', async function () {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let calls = 0;
    // The first embedding (the catalog being indexed) is held until the test lets it go.
    const slow: Embedder = { ...embedder, embed: async (texts) => (calls++ === 0 ? (await held, embedder.embed(texts)) : embedder.embed(texts)) };
    const s = new ToolSearch({ embedder: slow, pendingWaitMs: 50 });
    const indexing = s.upsert(DOCS);
    const hits = await s.search('read a file', 3);
    expect(hits[0].id).to.equal('fs/read_file');
    expect(s.status().vectors).to.equal(0);
    release();
    await indexing;
    expect(s.status().vectors).to.equal(DOCS.length);
  });

  it("semantic candidates come from the filtered set even when other tenants' tools are far more numerous", async function () {
    const s = new ToolSearch({ embedder });
    const many = Array.from({ length: 400 }, (_, i) => doc(`beta${i}/send_email`, 'Send an email to a recipient', 'beta'));
    await s.upsert([...many, doc('acme/create_issue', 'Create an issue in a repository', 'acme')]);
    const hits = await s.search('send an email', 5, (id) => id.startsWith('acme/'), 1, ['acme']);
    expect(hits.map((h) => h.id)).to.deep.equal(['acme/create_issue']);
  });
});
