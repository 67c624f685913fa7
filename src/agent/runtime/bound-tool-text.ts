/**
 * A tool result as the model gets it: at most `maxChars` characters, and when cut, a note saying
 * so (and how much there was), so the model neither overflows its context (nor the event limit,
 * as every later InferenceCompleted carries the conversation) nor mistakes a part for the whole.
 * The full result stays in the step's own events (resultHash, and resultJson up to 256 KiB unless
 * MCP_PAYLOAD_POLICY=hash-only).
 * Requires maxChars >= 1.
 *
 * @example boundToolText('x'.repeat(50_000), 32_000) // 32,000 x's, then the note
 */
export function boundToolText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let end = maxChars;
  // Do not split a surrogate pair (the half left would be an invalid character).
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${text.slice(0, end)}\n[truncated by OpenMCP-Chain: the tool result has ${text.length} characters, only the first ${end} are shown; ask the tool for less (a narrower query, a page) if you need the rest]`;
}
