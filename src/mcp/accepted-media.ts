/** Which of the two media types of streamable HTTP a client takes, by its `Accept` header. */
export type AcceptedMedia = { json: boolean; sse: boolean };

/**
 * What an `Accept` header lets `/mcp` answer with: JSON (`application/json`) and an SSE stream
 * (`text/event-stream`), each named or covered by a wildcard (`application/*`, `text/*`, or the
 * range of every type) with a weight above 0; the most specific range naming a type decides.
 * No header at all, or an empty one, takes anything (RFC 9110 §12.5.1): many JSON-RPC clients
 * (curl, Python's httpx, fetch) send none or the range of every type, where the MCP SDK's
 * transport looks for both names literally and answers 406.
 *
 * @example acceptedMedia('application/json') // { json: true, sse: false }
 * @example acceptedMedia('text/*, application/json;q=0.5') // { json: true, sse: true }
 */
export function acceptedMedia(header: string | string[] | undefined): AcceptedMedia {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined || value.trim() === '') return { json: true, sse: true };
  const ranges = value.split(',').map((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((p) => /^q\s*=/.test(p));
    return { type, weight: q === undefined ? 1 : Number(q.slice(q.indexOf('=') + 1).trim()) };
  });
  // RFC 9110 §12.5.1: in `text/*, text/event-stream;q=0` the stream is refused.
  const takes = (type: string): boolean => {
    const [major] = type.split('/');
    for (const candidate of [type, `${major}/*`, '*/*']) {
      const found = ranges.filter((r) => r.type === candidate);
      if (found.length) return found.some((r) => r.weight > 0);
    }
    return false;
  };
  return { json: takes('application/json'), sse: takes('text/event-stream') };
}
