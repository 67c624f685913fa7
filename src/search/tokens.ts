import { bpeEncoding } from '../core/bpe-encoding';

/**
 * Exact token count of `text` (a tool list sent to a model, as JSON) under o200k_base, the
 * encoding of OpenAI's current models (GPT-4o, GPT-4.1, GPT-5, o-series). Special-token text
 * (`<|endoftext|>`) counts as the plain text it is. Loads the encoding on first use (see bpeEncoding).
 *
 * @example countTokens('{"a": "hello world"}') // 7
 */
export function countTokens(text: string): number {
  return bpeEncoding('o200k_base').countText(text);
}
