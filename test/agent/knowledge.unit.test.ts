import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KnowledgeBase, chunkMarkdown } from '../../src/agent/knowledge/knowledge-base';

describe('knowledge base (markdown chunks, BM25)', () => {
  const doc = '# Ops\n\nIntro.\n\n## Refunds\n\nRefunds over 50 EUR need a manager.\n\n## Deployments\n\nDeploy on Tuesdays only.\n';

  it('chunks at headings with stable ids', () => {
    const chunks = chunkMarkdown('ops.md', doc);
    expect(chunks.map((c) => c.id)).to.deep.equal(['ops.md#0', 'ops.md#1', 'ops.md#2']);
    expect(chunks[1].text).to.contain('Refunds over 50 EUR');
    expect(chunkMarkdown('ops.md', doc)).to.deep.equal(chunks);
  });

  it('splits long sections under the chunk size', () => {
    const long = `## Big\n\n${Array.from({ length: 40 }, (_, i) => `Paragraph ${i} ${'word '.repeat(20)}`).join('\n\n')}`;
    const chunks = chunkMarkdown('big.md', long);
    expect(chunks.length).to.be.greaterThan(1);
    expect(chunks.every((c) => c.text.length <= 1400)).to.equal(true);
  });

  it('splits a paragraph longer than the chunk size too (one long line, lines without blank ones, a wide UTF-8 run)', () => {
    // One such paragraph was one chunk of any size, put whole into every matching task's system prompt.
    const oneLine = `## Table\n\n${'cell | value | note '.repeat(3_000)}`;
    const lines = `## Log\n\n${Array.from({ length: 500 }, (_, i) => `line ${i} of the runbook`).join('\n')}`;
    const noSpace = `## Blob\n\n${'x'.repeat(5_000)}😀${'y'.repeat(5_000)}`;
    for (const [file, text] of [['table.md', oneLine], ['log.md', lines], ['blob.md', noSpace]]) {
      const chunks = chunkMarkdown(file, text);
      expect(chunks.length, file).to.be.greaterThan(1);
      expect(Math.max(...chunks.map((c) => c.text.length)), file).to.be.at.most(1400);
      expect(chunks.every((c) => !/[\ud800-\udbff]$/.test(c.text) && !/^[\udc00-\udfff]/.test(c.text.split('\n').slice(1).join('\n'))), `${file}: a surrogate pair split`).to.equal(true);
      expect(chunks.map((c) => c.text.split('\n').slice(1).join('\n')).join('').replace(/\s+/g, ''), `${file}: nothing lost`).to.equal(text.split('\n\n').slice(1).join('').replace(/\s+/g, ''));
    }
  });

  it('loads a directory with a symlink loop (a link to a parent) once per file, instead of recursing until the stack overflows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-kb-'));
    try {
      mkdirSync(join(dir, 'ops'));
      writeFileSync(join(dir, 'ops', 'deploy.md'), '# Deploy\n\nDeploy on Tuesdays only.\n');
      symlinkSync('..', join(dir, 'ops', 'up'));
      symlinkSync(join(dir, 'ops'), join(dir, 'ops-link'));
      const kb = KnowledgeBase.fromDirectory(dir);
      expect(kb.size).to.equal(1);
      expect(kb.search('deploy', 1)[0].id).to.equal('ops/deploy.md#0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the best chunk for a query (stemmed)', () => {
    const kb = new KnowledgeBase();
    kb.add(chunkMarkdown('ops.md', doc));
    expect(kb.search('when can we deploy?', 1)[0].id).to.equal('ops.md#2');
    expect(kb.search('refund a customer', 1)[0].heading).to.equal('Refunds');
    expect(kb.search('', 3)).to.deep.equal([]);
  });
});
