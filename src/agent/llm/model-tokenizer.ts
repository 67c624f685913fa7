import { bpeEncoding, type BpeEncoding, type BpeEncodingName } from '../../core/bpe-encoding';

type Mapping = typeof import('gpt-tokenizer/mapping');

const ENCODINGS: readonly string[] = ['o200k_base', 'cl100k_base', 'o200k_harmony'] satisfies BpeEncodingName[];

/** A model's exact token counter: its encoding, and its chat template. */
export type ModelTokenizer = {
  readonly encoding: BpeEncodingName;
  countText(text: string): number;
  countChat(chat: readonly { role: string; content: string }[]): number;
};

/**
 * The tokenizer of `model` when gpt-tokenizer lists it as a chat model (by its exact name:
 * `gpt-4o`, `gpt-4.1-mini`, `o3`, `gpt-4`, `gpt-3.5-turbo`, `gpt-oss-20b`…), with the encoding
 * the library maps it to; undefined for any other name (a local model, a prefixed name such as
 * `openai/gpt-4o`), whose tokenizer is unknown. The encoding itself loads on the first count.
 *
 * @example modelTokenizer('gpt-4o')?.encoding // 'o200k_base'
 * @example modelTokenizer('qwen2.5:7b') // undefined
 */
export function modelTokenizer(model: string): ModelTokenizer | undefined {
  const { chatModelParams, modelToEncodingMap, DEFAULT_ENCODING } = require('gpt-tokenizer/mapping') as Mapping;
  if (!Object.hasOwn(chatModelParams, model)) return undefined;
  // The library's own resolution: a model it lists without an encoding uses its default (o200k_base).
  const name: string = Object.hasOwn(modelToEncodingMap, model) ? modelToEncodingMap[model as keyof typeof modelToEncodingMap] : DEFAULT_ENCODING;
  if (!ENCODINGS.includes(name)) return undefined;
  const encoding = name as BpeEncodingName;
  let bpe: BpeEncoding | undefined;
  const get = () => (bpe ??= bpeEncoding(encoding));
  return { encoding, countText: (text) => get().countText(text), countChat: (chat) => get().countChat(chat, model) };
}
