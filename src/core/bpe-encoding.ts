/** The BPE encodings of OpenAI's chat models that the gateway counts with (gpt-tokenizer's names). */
export type BpeEncodingName = 'o200k_base' | 'cl100k_base' | 'o200k_harmony';

/** A chat message as a chat template renders it: the role, then the text. */
export type TemplateMessage = { role: string; content: string };

export type BpeEncoding = {
  readonly name: BpeEncodingName;
  /** Exact token count of `text`; `<|endoftext|>` and the like count as the plain text they are. */
  countText(text: string): number;
  /** Exact token count of `chat` in `model`'s chat template, the start of the answer included. Requires a chat model of this encoding. */
  countChat(chat: readonly TemplateMessage[], model: string): number;
};

type EncodingModule = typeof import('gpt-tokenizer/encoding/o200k_base');

// Required on first use, not imported: each encoding's tables take 0.3 to 0.9 s and 35 to 75 MB
// of RSS to load (docs/benchmarks.md), which a gateway whose LLM server reports usage never needs.
const loaders: Record<BpeEncodingName, () => EncodingModule> = {
  o200k_base: () => require('gpt-tokenizer/encoding/o200k_base') as EncodingModule,
  cl100k_base: () => require('gpt-tokenizer/encoding/cl100k_base') as EncodingModule,
  o200k_harmony: () => require('gpt-tokenizer/encoding/o200k_harmony') as EncodingModule,
};

/**
 * Special tokens are disallowed by default, so the library throws on a prompt that quotes one
 * (a tool result, an injection). A server encodes a user's text as text: so does this.
 */
const PLAIN = { disallowedSpecial: new Set<string>() };

const loaded = new Map<BpeEncodingName, BpeEncoding>();

/**
 * One of gpt-tokenizer's encodings, loaded (synchronously) on first use and kept.
 *
 * @example bpeEncoding('o200k_base').countText('hello world') // 2
 */
export function bpeEncoding(name: BpeEncodingName): BpeEncoding {
  let encoding = loaded.get(name);
  if (!encoding) {
    const api = loaders[name]();
    encoding = {
      name,
      countText: (text) => (text ? api.countTokens(text, PLAIN) : 0),
      countChat: (chat, model) => {
        let n = 0;
        for (const tokens of api.encodeChatGenerator(chat, model as Parameters<EncodingModule['encodeChatGenerator']>[1], PLAIN)) n += tokens.length;
        return n;
      },
    };
    loaded.set(name, encoding);
  }
  return encoding;
}
