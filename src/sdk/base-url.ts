import { redactUrl } from '../core/errors';

/**
 * Why `baseUrl` cannot be asked at all, or undefined: not an http(s) URL, or one holding a user
 * name or password, which fetch refuses to send (every call failed as a connection failure after
 * its retries, no server asked) and the gateway would not take anyway (it takes API keys, as
 * Bearer tokens). `source` names where the URL came from (`OPENMCP_URL`); the URL is shown with
 * its credentials masked (redactUrl).
 * @example baseUrlProblem('http://u:p@127.0.0.1:8080', 'OPENMCP_URL') // 'OPENMCP_URL http://***:***@127.0.0.1:8080/ holds credentials …'
 */
export function baseUrlProblem(baseUrl: string, source: string): string | undefined {
  let url: URL | undefined;
  try {
    url = new URL(baseUrl);
  } catch {
    url = undefined;
  }
  const cut = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);
  const shown = redactUrl(cut(baseUrl));
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    // `alice:pw@host:8080` parses as a URL of scheme `alice:` whose path holds the password, which
    // redactUrl leaves: of a URL not taken, nothing before its last @ is shown.
    const at = baseUrl.lastIndexOf('@');
    return `${source} ${at < 0 ? shown : `***${cut(baseUrl.slice(at))}`} is not an http(s) URL (e.g. http://127.0.0.1:8080)`;
  }
  if (url.username || url.password) {
    return `${source} ${shown} holds credentials (user:password@), which fetch will not send: the gateway takes an API key (Authorization: Bearer), ` +
      'not credentials in its URL; remove them and give the key as the API key (apiKey; OPENMCP_API_KEY for the CLI)';
  }
  return undefined;
}
