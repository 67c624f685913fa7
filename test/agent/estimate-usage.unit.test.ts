import { expect } from 'chai';
import fc from 'fast-check';
import { estimateTextTokens, estimateUsage } from '../../src/agent/llm/estimate-usage';
import vectors from '../vectors/token-counts.json';

type Sample = { encoding: string; text: string; tokens: number; kind: 'ascii-text' | 'ascii-random' | 'non-ascii' };
const samples = vectors.samples as Sample[];

/** Characters where pre-tokenizers split or merge: spaces, line ends, apostrophes, letters of each case, digits, symbols, other scripts, an emoji (a surrogate pair). */
const tricky = fc.constantFrom(' ', '  ', '\n', '\r\n', '\t', "'", "'s", 's', 'a', 'Z', '1', '!', '.', '{"', 'é', '中', '😀', '\u0301');
/** Any UTF-16 code units, lone surrogates included. */
const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: fc.constantFrom(...'ab A1!.\n\'s'), maxLength: 60 }), fc.array(tricky, { maxLength: 30 }).map((xs) => xs.join('')));

describe('estimateTextTokens / estimateUsage (a token count for a server that reports none)', () => {
  it('is 0 only for the empty text, and never more than its UTF-8 bytes (property)', () => {
    expect(estimateTextTokens('')).to.equal(0);
    fc.assert(
      fc.property(fc.oneof(text, codeUnits), (t) => {
        fc.pre(t.length > 0);
        const n = estimateTextTokens(t);
        expect(n).to.be.at.least(1);
        expect(n).to.be.at.most(Buffer.byteLength(t));
      }),
      { numRuns: 500 },
    );
  });

  it('is monotone: more text never counts less (property)', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const ab = estimateTextTokens(a + b);
        expect(ab).to.be.at.least(estimateTextTokens(a));
        expect(ab).to.be.at.least(estimateTextTokens(b));
      }),
      { numRuns: 1_000 },
    );
  });

  it('over-counts every published ASCII text and non-ASCII sample of cl100k_base and o200k_base, and random characters by at most 0.3', () => {
    for (const s of samples) {
      const n = estimateTextTokens(s.text);
      if (s.kind === 'ascii-random') expect(n, `${s.encoding} ${JSON.stringify(s.text)}`).to.be.at.least(Math.ceil(s.tokens * 0.7));
      else expect(n, `${s.encoding} ${JSON.stringify(s.text)}`).to.be.at.least(s.tokens);
    }
  });

  it('over-counts ASCII text made of the published samples, one per line (property)', () => {
    // A line end splits pre-tokenization, so the text's known count is at most the samples' counts and one per line end.
    for (const encoding of ['cl100k_base', 'o200k_base']) {
      const ascii = samples.filter((s) => s.encoding === encoding && s.kind === 'ascii-text' && !s.text.includes('\n'));
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...ascii), { minLength: 1, maxLength: 20 }), (picked) => {
          const known = picked.reduce((n, s) => n + s.tokens, 0) + picked.length - 1;
          expect(estimateTextTokens(picked.map((s) => s.text).join('\n'))).to.be.at.least(known);
        }),
        { numRuns: 300 },
      );
    }
  });

  it('counts a prompt from its messages and tools, an answer from its text and tool calls, at least 1 token each', () => {
    const req = { messages: [{ role: 'user' as const, content: 'read k1' }], tools: [] };
    const empty = estimateUsage(req, { role: 'assistant', content: null });
    expect(empty).to.deep.equal({ promptTokens: estimateTextTokens(JSON.stringify(req.messages)), completionTokens: 1, totalTokens: empty.promptTokens + 1, estimated: true });
    const tool = { name: 'kv__get', parameters: { type: 'object', properties: { key: { type: 'string' } } } };
    const withTools = estimateUsage({ ...req, tools: [tool] }, { role: 'assistant', content: 'k1 is 42' });
    expect(withTools.promptTokens).to.equal(empty.promptTokens + estimateTextTokens(JSON.stringify([tool])));
    expect(withTools.completionTokens).to.equal(estimateTextTokens('k1 is 42'));
    const call = estimateUsage(req, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'kv__get', arguments: '{"key":"k1"}' } }] });
    expect(call.completionTokens).to.equal(estimateTextTokens('kv__get') + estimateTextTokens('{"key":"k1"}'));
  });
});
