import { cutText } from '../core/well-formed';

/** How much of a tool's own error text a step's `error.message` quotes. */
export const TOOL_ERROR_QUOTE_CHARS = 500;

/**
 * A step's error for a tool's error result (MCP `isError: true`), quoting the start of the tool's
 * text (its text parts, else its structuredContent as JSON) from `result`, the step's result as
 * the read model holds it: present only where the payload policy keeps it (MCP_PAYLOAD_POLICY=store;
 * LLM_REDACTION does not cover tool results: docs/agent.md), so the quote shows nothing the step's `result`
 * does not; a longer text is cut, saying so. Without it (hash-only, encrypted, or a result too large to keep) the message says so.
 * @example toolErrorOf({ content: [{ type: 'text', text: 'no such customer' }], isError: true }).message // 'the tool returned an error result: no such customer'
 */
export function toolErrorOf(result: unknown): { code: 'TOOL_ERROR'; message: string } {
  if (result === undefined) return { code: 'TOOL_ERROR', message: 'the tool returned an error result (its text not kept in clear: withheld by the payload policy, or too large)' };
  const text = textOf(result);
  return { code: 'TOOL_ERROR', message: `the tool returned an error result${text ? `: ${quoted(text)}` : ''}` };
}

/** The start of `text`, saying where it was cut (a quote cut silently reads as the tool's whole message). */
function quoted(text: string): string {
  const head = cutText(text, TOOL_ERROR_QUOTE_CHARS);
  return head.length === text.length ? text : `${head}… (first ${head.length} of ${text.length} characters: the step's result has them all)`;
}

function textOf(result: unknown): string {
  if (!result || typeof result !== 'object') return '';
  const r = result as { content?: unknown; structuredContent?: unknown };
  const texts = (Array.isArray(r.content) ? r.content : [])
    .filter((c): c is { type: 'text'; text: string } => !!c && typeof c === 'object' && (c as { type?: unknown }).type === 'text' && typeof (c as { text?: unknown }).text === 'string')
    .map((c) => c.text);
  if (texts.length) return texts.join('\n').trim();
  return r.structuredContent !== undefined ? JSON.stringify(r.structuredContent) : '';
}
