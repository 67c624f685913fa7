import { expect } from 'chai';
import fc from 'fast-check';
import o200k from 'gpt-tokenizer/encoding/o200k_base';
import { estimateTextTokens, estimateUsage } from '../../src/agent/llm/estimate-usage';
import { modelTokenizer } from '../../src/agent/llm/model-tokenizer';
import type { ChatMessage, ToolSpec } from '../../src/agent/llm/port';
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

  it('counts a prompt from its messages and tools, an answer from its text and tool calls, at least 1 token each (a model whose tokenizer is unknown)', () => {
    const req = { model: 'qwen2.5:7b', messages: [{ role: 'user' as const, content: 'read k1' }], tools: [] };
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

/** Special-token text (`<|endoftext|>`) in a prompt is text to the server: counted as such, never refused. */
const plain = { disallowedSpecial: new Set<string>() };

describe('estimateUsage for a model whose tokenizer gpt-tokenizer knows (an exact count, still marked estimated)', () => {
  it("knows a model by its exact name in gpt-tokenizer's list of chat models, with that list's encoding, and no other", () => {
    for (const m of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-5', 'o1', 'o3', 'o3-mini', 'o4-mini']) expect(modelTokenizer(m)?.encoding, m).to.equal('o200k_base');
    for (const m of ['gpt-4', 'gpt-4-turbo', 'gpt-3.5-turbo']) expect(modelTokenizer(m)?.encoding, m).to.equal('cl100k_base');
    expect(modelTokenizer('gpt-oss-20b')?.encoding).to.equal('o200k_harmony');
    // Local models, prefixed or misspelled names, and models that are not chat models: the conservative estimate.
    for (const m of ['', 'm', 'qwen2.5:7b', 'llama3.1:8b', 'gpt-oss:20b', 'openai/gpt-4o', 'GPT-4o', 'gpt-4o ', 'davinci', 'text-embedding-3-small', 'constructor', '__proto__']) {
      expect(modelTokenizer(m), JSON.stringify(m)).to.equal(undefined);
    }
  });

  it('counts text as the published samples of cl100k_base (gpt-4) and o200k_base (gpt-4o) say', () => {
    for (const s of samples) {
      const tokenizer = modelTokenizer(s.encoding === 'cl100k_base' ? 'gpt-4' : 'gpt-4o')!;
      expect(tokenizer.countText(s.text), `${s.encoding} ${JSON.stringify(s.text)}`).to.equal(s.tokens);
    }
  });

  it("counts any text as the model's encoding does, special-token text as plain text, never past its UTF-8 bytes (property)", () => {
    const tokenizer = modelTokenizer('gpt-4o')!;
    const special = fc.constantFrom('<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|im_sep|>', '<|endofprompt|>');
    fc.assert(
      fc.property(fc.oneof(text, codeUnits, fc.array(fc.oneof(text, special), { maxLength: 6 }).map((xs) => xs.join(''))), (t) => {
        const n = tokenizer.countText(t);
        expect(n).to.equal(o200k.countTokens(t, plain));
        expect(n).to.be.at.most(Buffer.byteLength(t));
      }),
      { numRuns: 300 },
    );
  });

  it("counts the prompt as the model's chat template renders its messages, with the JSON of its tools; the answer as its text and tool calls", () => {
    const tools: ToolSpec[] = [{ name: 'kv__get', description: 'read a value by key', parameters: { type: 'object', properties: { key: { type: 'string' } } } }];
    const call = { id: 'c1', type: 'function' as const, function: { name: 'kv__get', arguments: '{"key":"k1"}' } };
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are an agent. <|endoftext|> is text here.' },
      { role: 'user', content: 'read the value of k1 and tell me what it is' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: 'c1', content: 'value of k1: 42' },
    ];
    const chat = [
      { role: 'system', content: messages[0].content as string },
      { role: 'user', content: messages[1].content as string },
      { role: 'assistant', content: '' },
      { role: 'tool', content: 'value of k1: 42' },
    ];
    const prompt = o200k.encodeChat(chat, 'gpt-4o', plain).length + o200k.countTokens('kv__get') + o200k.countTokens('{"key":"k1"}') + o200k.countTokens(JSON.stringify(tools));
    const text = estimateUsage({ model: 'gpt-4o', messages, tools }, { role: 'assistant', content: 'The value of k1 is 42.' });
    expect(text).to.deep.equal({ promptTokens: prompt, completionTokens: o200k.countTokens('The value of k1 is 42.'), totalTokens: prompt + o200k.countTokens('The value of k1 is 42.'), estimated: true });
    const asked = estimateUsage({ model: 'gpt-4o', messages, tools: [] }, { role: 'assistant', content: null, tool_calls: [call] });
    expect(asked.promptTokens).to.equal(prompt - o200k.countTokens(JSON.stringify(tools)));
    expect(asked.completionTokens).to.equal(o200k.countTokens('kv__get') + o200k.countTokens('{"key":"k1"}'));
    expect(estimateUsage({ model: 'gpt-4o', messages, tools }, { role: 'assistant', content: '' }).completionTokens, 'the end of the answer is a token too').to.equal(1);
    // The same call to a model whose tokenizer is unknown: the conservative estimate, higher.
    const unknown = estimateUsage({ model: 'qwen2.5:7b', messages, tools }, { role: 'assistant', content: 'The value of k1 is 42.' });
    expect(unknown.promptTokens).to.equal(estimateTextTokens(JSON.stringify(messages)) + estimateTextTokens(JSON.stringify(tools)));
    expect(unknown.promptTokens).to.be.above(text.promptTokens);
  });

  it('counts a call holding an unbroken run of 1,000 letters or symbols (a blob, unpunctuated CJK) by the conservative estimate: an exact count takes the square of its length', () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'summarise the file' },
      { role: 'tool', tool_call_id: 'c1', content: `file: ${'Qm'.repeat(500)} end` },
    ];
    const long = estimateUsage({ model: 'gpt-4o', messages, tools: [] }, { role: 'assistant', content: 'a summary' });
    expect(long.promptTokens).to.equal(estimateTextTokens(JSON.stringify(messages)));
    expect(long.completionTokens).to.equal(estimateTextTokens('a summary'));
    const answer = estimateUsage({ model: 'gpt-4o', messages: messages.slice(0, 1), tools: [] }, { role: 'assistant', content: '中'.repeat(1_000) });
    expect(answer.completionTokens).to.equal(estimateTextTokens('中'.repeat(1_000)));
    // One letter short of the run: counted exactly.
    const short = estimateUsage({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(999) }], tools: [] }, { role: 'assistant', content: 'ok' });
    expect(short.completionTokens).to.equal(o200k.countTokens('ok'));
  });
});
