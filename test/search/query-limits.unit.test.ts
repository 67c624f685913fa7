import { expect } from 'chai';
import { fuseScores } from '../../src/search/hybrid';
import { LexicalIndex, type ToolDocument } from '../../src/search/lexical-index';
import { ToolSearch } from '../../src/search/tool-search';

const doc = (id: string, description: string): ToolDocument => ({ id, name: id, server: 's', tool: id, description });

describe('tool search: odd queries and scores', () => {
  it('a very long word does not throw (fuzzy matching would need a 10 GB matrix) and still matches as a prefix', async () => {
    const s = ToolSearch.lexicalOnly('test');
    await s.upsert([doc('read_file', 'Read a file'), doc('send_email', 'Send an email')]);
    expect(await s.search('x'.repeat(100_000), 5)).to.deep.equal([]);
    const ix = new LexicalIndex();
    ix.upsert([doc('a', `${'y'.repeat(60)} tool`)]);
    expect(ix.search('z'.repeat(100_000), 5)).to.deep.equal([]);
    expect(ix.search('y'.repeat(60), 5).map((h) => h.id)).to.deep.equal(['a']);
  });

  it('a pasted page, a repeated word, unicode and k out of range give bounded, plain answers', async () => {
    const s = ToolSearch.lexicalOnly('test');
    await s.upsert([doc('read_file', 'Read a file'), doc('send_email', 'Send an email')]);
    expect((await s.search(`send email ${'lorem ipsum dolor '.repeat(20_000)}`, 5))[0].id).to.equal('send_email');
    expect((await s.search('email '.repeat(10_000), 5)).map((h) => h.id)).to.deep.equal(['send_email']);
    expect(await s.search('😀 日本語のツール \u0000', 5)).to.deep.equal([]);
    expect(await s.search('email', 0)).to.deep.equal([]);
    expect(await s.search('email', Number.NaN)).to.deep.equal([]);
  });

  it('finds tools described in any script, accents or not, and does not cut accented words into fragments', async () => {
    const s = ToolSearch.lexicalOnly('test');
    await s.upsert([doc('ru_send', 'Отправить письмо клиенту'), doc('fr_create', 'Créer un ticket'), doc('de_read', 'Größe der Datei lesen'), doc('er', 'er')]);
    expect((await s.search('отправить письмо', 5)).map((h) => h.id)).to.deep.equal(['ru_send']);
    expect((await s.search('creer', 5)).map((h) => h.id)).to.deep.equal(['fr_create']);
    expect((await s.search('Créer', 5)).map((h) => h.id)).to.deep.equal(['fr_create']);
    expect((await s.search('GRÖSSE', 5)).map((h) => h.id)).to.deep.equal(['de_read']);
  });

  it('a NaN similarity (a zero vector normalized) is left out instead of making every score NaN', () => {
    const fused = fuseScores([{ id: 'b', score: 2 }], [{ id: 'a', similarity: Number.NaN }, { id: 'b', similarity: 0.5 }, { id: 'c', similarity: 0.1 }], 0.5);
    expect(fused.every((f) => Number.isFinite(f.score))).to.equal(true);
    expect(fused.map((f) => f.id)).to.deep.equal(['b', 'c']);
  });

  it('ties are ordered by id in code-unit order, whatever the locale', () => {
    const ids = ['b', 'B', 'a', 'é', 'e', '_x'];
    expect(fuseScores(ids.map((id) => ({ id, score: 1 })), [], 0).map((f) => f.id)).to.deep.equal([...ids].sort());
  });
});
