// Hash routes (#/tasks/<id>): the page is one static file and ids never reach the server's logs.
// A list's filters ride after a `?` (#/tool-calls?server=examples), so a link or Back keeps them.

/** A segment decoded, or as typed when it is not valid percent-encoding. @param {string} s */
const decode = (s) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** @param {string} hash */
const path = (hash) => hash.replace(/^#\/?/, '').split('?')[0];

/**
 * The route's segments, decoded, without its query. Never throws: a malformed link opens its page,
 * which says what it cannot find. parseRoute('#/tasks/abc') → ['tasks', 'abc']. @param {string} hash
 */
export const parseRoute = (hash) => path(hash).split('/').map(decode);

/**
 * The route's query, decoded; the last of a repeated key wins. Never throws.
 * routeQuery('#/tool-calls?status=failed') → { status: 'failed' }. @param {string} hash
 * @returns {Record<string, string>}
 */
export function routeQuery(hash) {
  const i = hash.indexOf('?');
  /** @type {Record<string, string>} */
  const out = {};
  if (i < 0) return out;
  for (const pair of hash.slice(i + 1).split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const k = decode((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
    out[k] = eq < 0 ? '' : decode(pair.slice(eq + 1).replace(/\+/g, ' '));
  }
  return out;
}
