// The REST client of the dashboard. The API key lives in sessionStorage (gone when the tab
// closes), travels only in the Authorization header, and never in a URL or a log line.

const KEY = 'openmcp.apiKey';

export const session = {
  get key() {
    return sessionStorage.getItem(KEY) ?? '';
  },
  set(/** @type {string} */ key) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

/** An application/problem+json answer, or a network failure (status 0). */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {number} [retryAfter] */
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * Requests that did not reach the gateway (or that it, or a proxy before it, failed with a 5xx)
 * since the live feed last had the views reload: when the feed is back after a break, it has them
 * reload if any did (live.js), and only then, so a feed that merely reconnected costs nothing.
 */
let unanswered = 0;
export const unansweredRequests = { count: () => unanswered, clear: () => void (unanswered = 0) };

/** Listeners told when the key is refused (401), so the app can ask for a new one. */
const unauthorized = new Set();
export const onUnauthorized = (/** @type {() => void} */ fn) => (unauthorized.add(fn), () => unauthorized.delete(fn));
/** Tell the app the stored key was refused (by the REST API or the live stream). */
export const keyRefused = () => {
  for (const fn of unauthorized) fn();
};

/**
 * @param {string} path e.g. /v1/tasks?limit=50
 * @param {{ method?: string, body?: unknown, key?: string, text?: boolean }} [opts] `text`: answer
 *   the body's text as it came instead of its JSON (a proof file, checked for keys named twice); errors as ever
 */
export async function api(path, opts = {}) {
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${opts.key ?? session.key}`, accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), cache: 'no-store' });
  } catch (err) {
    unanswered++;
    throw new ApiError(0, 'NETWORK', `The gateway cannot be reached (${/** @type {Error} */ (err).message}).`);
  }
  if (res.status === 204) return undefined;
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    if (res.status === 401 && opts.key === undefined) keyRefused();
    if (res.status >= 500) unanswered++;
    const retry = Number(res.headers.get('retry-after'));
    throw new ApiError(res.status, body?.code ?? `HTTP_${res.status}`, body?.detail ?? body?.title ?? `HTTP ${res.status}`, Number.isFinite(retry) && retry > 0 ? retry : undefined);
  }
  return opts.text ? text : body;
}

/** Every page of a cursor-paginated list, up to `max` items. @param {string} path @param {number} max */
export async function apiAll(path, max = 1000) {
  const items = [];
  let cursor;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(`${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  return items;
}
