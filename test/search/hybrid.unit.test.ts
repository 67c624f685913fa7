import { expect } from 'chai';
import { fuseScores } from '../../src/search/hybrid';
import { expandQuery, stem, words } from '../../src/search/text';
import { countTokens } from '../../src/search/tokens';
import vectors from '../vectors/token-counts.json';

describe('search ranking pieces', function () {
  it('fuses scaled BM25 and cosine scores with the given weight', function () {
    const lex = [{ id: 'a', score: 10 }, { id: 'b', score: 5 }];
    const sem = [{ id: 'b', similarity: 0.9 }, { id: 'c', similarity: 0.1 }];
    expect(fuseScores(lex, sem, 0).map((f) => f.id)).to.deep.equal(['a', 'b', 'c']);
    expect(fuseScores(lex, sem, 1).map((f) => f.id)[0]).to.equal('b');
    const mid = fuseScores(lex, sem, 0.5);
    expect(mid.find((f) => f.id === 'b')!.score).to.be.closeTo(0.75, 1e-9);
  });

  it('splits tool names and stems words so forms meet', function () {
    expect(words('github__createIssue list_pull-requests')).to.deep.equal(['github', 'create', 'issue', 'list', 'pull', 'requests']);
    expect(stem('issues')).to.equal(stem('issue'));
    expect(stem('creating')).to.equal(stem('create'));
    expect(expandQuery('remove the ticket').expanded).to.include.members(['delete', 'issue']);
    expect(expandQuery('open https://example.com').expanded).to.include('url');
  });

  it('counts the tokens of a tool list exactly as o200k_base does (the published samples; special-token text as plain text)', function () {
    expect(countTokens('')).to.equal(0);
    for (const s of (vectors.samples as { encoding: string; text: string; tokens: number }[]).filter((v) => v.encoding === 'o200k_base')) {
      expect(countTokens(s.text), JSON.stringify(s.text)).to.equal(s.tokens);
    }
    // "<|endoftext|>" in a tool's description is text to the model, not the end of it: 7 ordinary tokens, no throw.
    expect(countTokens('<|endoftext|>')).to.equal(7);
  });
});
