import Negotiator from 'negotiator';

/** Which of the two media types of streamable HTTP a client takes, by its `Accept` header. */
export type AcceptedMedia = { json: boolean; sse: boolean };

const JSON_TYPES = ['application/json', 'application/json;charset=utf-8'];

/**
 * What an `Accept` header lets `/mcp` answer with: JSON (`application/json`) and an SSE stream
 * (`text/event-stream`), each named or covered by a wildcard (`application/*`, `text/*`, or the
 * range of every type) with a weight above 0, the most specific range naming a type deciding
 * (RFC 9110 §12.5.1, as `negotiator`, express's, reads it). No header at all, or an empty one,
 * takes anything: many JSON-RPC clients (curl, Python's httpx, fetch) send none or the range of
 * every type, where the MCP SDK's transport looks for both names literally and answers 406.
 *
 * @example acceptedMedia('application/json') // { json: true, sse: false }
 * @example acceptedMedia('text/*, application/json;q=0.5') // { json: true, sse: true }
 */
export function acceptedMedia(header: string | string[] | undefined): AcceptedMedia {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined || value.trim() === '') return { json: true, sse: true };
  // A range with parameters matches only a type with the same ones: JSON is offered as utf-8 too (it is).
  const taken = new Negotiator({ headers: { accept: value } }).mediaTypes([...JSON_TYPES, 'text/event-stream']);
  return { json: taken.some((t) => JSON_TYPES.includes(t)), sse: taken.includes('text/event-stream') };
}
