import { expect } from 'chai';
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

  it('finds the best chunk for a query (stemmed)', () => {
    const kb = new KnowledgeBase();
    kb.add(chunkMarkdown('ops.md', doc));
    expect(kb.search('when can we deploy?', 1)[0].id).to.equal('ops.md#2');
    expect(kb.search('refund a customer', 1)[0].heading).to.equal('Refunds');
    expect(kb.search('', 3)).to.deep.equal([]);
  });
});
