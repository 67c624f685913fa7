/**
 * Token count estimate for tool lists sent to a model: roughly what BPE tokenizers give for
 * English and JSON (one token per word or number, one per punctuation run; long words count per 4 chars).
 */
export function estimateTokens(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]+/g)) {
    const s = m[0];
    n += /[A-Za-z]/.test(s[0]) ? Math.max(1, Math.ceil(s.length / 6)) : Math.max(1, Math.ceil(s.length / 2));
  }
  return n;
}
