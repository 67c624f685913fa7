import { modelTokenizer, type ModelTokenizer } from './model-tokenizer';
import type { AssistantMessage, ChatMessage, CompletionRequest, Usage } from './port';

/**
 * The pre-tokenizer of GPT-4's cl100k_base (tiktoken's pattern; Llama 3 and Qwen2 split alike):
 * contractions, letter runs with one leading non-letter, digits in threes, symbol runs,
 * whitespace. Tokenizers that split so never merge across these pieces: each is at least one token.
 */
const PIECES = /'(?:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/giu;

/**
 * One piece, at least one token: ASCII letters, digits and spaces at one token per 3 bytes, ASCII
 * symbols at two per 3 (runs of them tokenize poorly), anything else at one per UTF-8 byte (what
 * a byte-level BPE makes at most: scripts and emoji vary from one tokenizer to the next).
 */
function pieceTokens(piece: string): number {
  let thirds = 0;
  let bytes = 0;
  for (let i = 0; i < piece.length; i++) {
    const c = piece.charCodeAt(i);
    if (c < 0x80) thirds += (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x20 || (c >= 0x09 && c <= 0x0d) ? 1 : 2;
    else if (c < 0x800) bytes += 2;
    // A surrogate pair is one 4-byte character: 2 bytes for each half.
    else if (c >= 0xd800 && c <= 0xdfff) bytes += 2;
    else bytes += 3;
  }
  return Math.max(1, Math.ceil(thirds / 3) + bytes);
}

/**
 * A conservative token count of `text` for a tokenizer we do not know (0 only for ''), for when
 * the LLM server reports no usage. Never more than its UTF-8 bytes (what byte-level BPE can
 * make at most). On the published cl100k_base and o200k_base test samples it over-counts English
 * prose and code (1 to 2.5 times), symbols, and every other script and emoji (by their bytes: up
 * to 4 times for CJK and 7 for Cyrillic); it can under-count strings of random letters (passwords,
 * base64), down to ~0.7 of the true count. Monotone: more text never counts less. (For a model
 * whose tokenizer is known, estimateUsage counts exactly instead: modelTokenizer.)
 *
 * @example estimateTextTokens('hello world') // 4 (cl100k_base: 2)
 */
export function estimateTextTokens(text: string): number {
  let n = 0;
  // Whitespace pieces next to each other count as one: the pattern splits "\n " in two but keeps
  // "\n \n" whole, and more text must never count less.
  let space = '';
  for (const [piece] of text.matchAll(PIECES)) {
    if (!piece.trim()) {
      space += piece;
      continue;
    }
    if (space) n += pieceTokens(space);
    space = '';
    n += pieceTokens(piece);
  }
  return space ? n + pieceTokens(space) : n;
}

/**
 * An unbroken run of 1,000 letters, or of 1,000 symbols: one piece to a BPE pre-tokenizer, and
 * merging a piece takes time in the square of its length (32,000 letters: 0.7 s of the worker's
 * event loop; 100,000: 6 s; measured with gpt-tokenizer's o200k_base). No word is so long; a
 * blob in a tool result (base64 without line breaks) or unpunctuated CJK text may be.
 */
const LONG_RUN = /[\p{L}\p{M}]{1000}|[^\s\p{L}\p{M}\p{N}]{1000}/u;

/** Whether any text of the call holds a LONG_RUN: the call is then counted by the conservative estimate, in linear time. */
function holdsLongRun(req: Pick<CompletionRequest, 'messages'>, toolsJson: string, message: AssistantMessage): boolean {
  const calls = (m: { tool_calls?: readonly { function: { name: string; arguments: string } }[] | null }) => (m.tool_calls ?? []).flatMap((c) => [c.function.name, c.function.arguments]);
  const texts = [...req.messages.flatMap((m) => [m.content ?? '', ...(m.role === 'assistant' ? calls(m) : [])]), message.content ?? '', ...calls(message)];
  return [...texts, toolsJson].some((t) => t.length >= 1000 && LONG_RUN.test(t));
}

/** The prompt's messages as the model's chat template renders them, and the tool calls the model asked for earlier (their name and arguments, as it wrote them). */
function chatTokens(tokenizer: ModelTokenizer, messages: readonly ChatMessage[]): number {
  const calls = messages.flatMap((m) => (m.role === 'assistant' ? (m.tool_calls ?? []) : []));
  return tokenizer.countChat(messages.map((m) => ({ role: m.role, content: m.content ?? '' }))) + calls.reduce((n, c) => n + tokenizer.countText(c.function.name) + tokenizer.countText(c.function.arguments), 0);
}

/**
 * The usage to count for a call whose server reported none. For a model whose tokenizer
 * gpt-tokenizer knows (modelTokenizer: `gpt-4o`, `gpt-4.1`, `o3`, `gpt-4`…), exact counts with its
 * encoding: the prompt as its chat template renders the messages, plus the JSON of the tool
 * definitions (the server renders them its own, unpublished way: the JSON is usually more). For
 * any other model, and for a call holding an unbroken run of 1,000 letters or symbols (LONG_RUN),
 * the conservative estimateTextTokens of the JSON of the messages and of the tool
 * definitions (their keys and quotes outweigh a chat template's markers). The completion, either
 * way, from the answer's text and tool calls (at least 1: the end of the answer is a token too).
 * Still an estimate, not the server's figure: `estimated: true`. Exact counts are never more than
 * the text's UTF-8 bytes either, but neither monotone (BPE may merge added text into fewer tokens)
 * nor an over-count: they are what the model's encoding makes.
 *
 * @example estimateUsage({ model: 'qwen2.5:7b', messages, tools }, message) // { promptTokens: 63, completionTokens: 9, totalTokens: 72, estimated: true }
 */
export function estimateUsage(req: Pick<CompletionRequest, 'messages' | 'tools' | 'model'>, message: AssistantMessage): Usage & { estimated: true } {
  const toolsJson = req.tools.length ? JSON.stringify(req.tools) : '';
  const known = modelTokenizer(req.model);
  const tokenizer = known && !holdsLongRun(req, toolsJson, message) ? known : undefined;
  const count = tokenizer ? tokenizer.countText : estimateTextTokens;
  const promptTokens = (tokenizer ? chatTokens(tokenizer, req.messages) : estimateTextTokens(JSON.stringify(req.messages))) + (toolsJson ? count(toolsJson) : 0);
  const calls = (message.tool_calls ?? []).map((c) => count(c.function.name) + count(c.function.arguments));
  const completionTokens = Math.max(1, count(message.content ?? '') + calls.reduce((a, b) => a + b, 0));
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
}
