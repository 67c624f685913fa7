/**
 * CORS for `/mcp`, for the origins the origin policy lets through (src/mcp/origin-policy.ts):
 * a browser page (MCP Inspector, a web agent) may call only once its preflight is answered, and
 * reads only the response headers it is told it may. A refused origin gets none of these (its
 * 403 is all it gets), and the allowed origin is echoed, never `*`. No
 * `Access-Control-Allow-Credentials`: the gateway uses no cookies, and a page sends its key as
 * `Authorization`, which needs no credentials mode.
 */

/** The request headers of a streamable HTTP client (the SDK's StreamableHTTPClientTransport sends these). */
const ALLOWED_HEADERS = 'authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id';

/**
 * Response headers a page must read: the session id of an initialize answer, the challenge of a
 * 401 (the SDK's auth flow reads it), when to retry a 429 or 503, and the key's rate-limit window
 * (RateLimit-*), so it can pace itself as a REST client does.
 */
const EXPOSED_HEADERS = 'mcp-session-id, www-authenticate, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset';

/** How long a browser may keep a preflight's answer (Chromium caps it at 2 h). An origin removed meanwhile is still refused: its real request gets 403. */
const MAX_AGE_SECONDS = '7200';

export const MCP_METHODS = 'GET, POST, DELETE';

/**
 * The headers of every answer to a request from `origin`, an origin the policy allows.
 * @example corsHeaders('https://app.example.com')['access-control-allow-origin'] === 'https://app.example.com'
 */
export function corsHeaders(origin: string): Record<string, string> {
  return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': EXPOSED_HEADERS };
}

/** What the answer (204) to the preflight of an allowed origin adds to corsHeaders'. */
export function preflightHeaders(): Record<string, string> {
  return { 'access-control-allow-methods': MCP_METHODS, 'access-control-allow-headers': ALLOWED_HEADERS, 'access-control-max-age': MAX_AGE_SECONDS };
}
