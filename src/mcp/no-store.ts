import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * Makes every answer written on `res` `Cache-Control: no-store` (an SSE stream's `no-store,
 * no-transform`), so no proxy or browser cache keeps the tool results, arguments and session ids
 * it carries, as on /v1. Set on the raw response, because the SDK writes a session's answers
 * itself (hijacked): its `writeHead` names `no-cache, no-transform` for an SSE stream, which
 * would win over a header set before, so the value it names is replaced; `no-transform` stays,
 * as it keeps proxies from buffering or compressing the stream.
 * @example storeNothing(reply.raw) // in the first onRequest hook of /mcp
 */
export function storeNothing(res: ServerResponse): void {
  res.setHeader('cache-control', 'no-store');
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const headers = args.find((a): a is OutgoingHttpHeaders => typeof a === 'object' && a !== null && !Array.isArray(a));
    if (headers) {
      for (const name of Object.keys(headers)) {
        if (name.toLowerCase() !== 'cache-control') continue;
        headers[name] = /\bno-transform\b/.test(String(headers[name])) ? 'no-store, no-transform' : 'no-store';
      }
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];
}
