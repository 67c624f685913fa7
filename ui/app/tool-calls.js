// The tool-calls pages' filters, links and payload notes: pure, so they are tested without a browser.

export const CALL_STATUSES = ['requested', 'completed', 'failed'];

/** The filters GET /v1/tool-calls takes from the page's link, in this order. */
const KEYS = ['server', 'tool', 'status', 'taskId'];

/**
 * The list filter a link asks for: known keys with a non-empty value, a status only if the API
 * knows it. callFilter({ server: ' examples ', status: 'odd', x: '1' }) → { server: 'examples' }.
 * @param {Record<string, string>} query
 * @returns {{ server?: string, tool?: string, status?: string, taskId?: string }}
 */
export function callFilter(query) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const k of KEYS) {
    const v = (query[k] ?? '').trim();
    if (v && (k !== 'status' || CALL_STATUSES.includes(v))) out[k] = v;
  }
  return out;
}

/** @param {Record<string, string|undefined>} filter */
const queryOf = (filter) =>
  KEYS.filter((k) => filter[k])
    .map((k) => `${k}=${encodeURIComponent(/** @type {string} */ (filter[k]))}`)
    .join('&');

/**
 * The REST path of one page, newest first. toolCallsPath({ server: 'a b' }, 'c1', 50) →
 * '/v1/tool-calls?limit=50&server=a%20b&cursor=c1'. @param {Record<string, string|undefined>} filter
 * @param {string} [cursor] @param {number} [limit]
 */
export function toolCallsPath(filter, cursor, limit = 50) {
  const q = queryOf(filter);
  return `/v1/tool-calls?limit=${limit}${q ? `&${q}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
}

/** The page's own link for a filter: toolCallsHash({ status: 'failed' }) → '#/tool-calls?status=failed'. @param {Record<string, string|undefined>} filter */
export function toolCallsHash(filter) {
  const q = queryOf(filter);
  return `#/tool-calls${q ? `?${q}` : ''}`;
}

/** The name the gateway serves the tool by. @param {{ server: string, tool: string }} c */
export const callName = (c) => `${c.server}__${c.tool}`;

/**
 * What the detail page can say about a call's arguments or result: `shown` (recorded), `erased`
 * (recorded encrypted, its subject's key erased since), `hashOnly` (answered, only the hash kept),
 * `pending` (no answer yet), `none` (the call failed: no result).
 * @param {any} c a ToolCallView @param {'arguments'|'result'} part
 */
export function payloadState(c, part) {
  if (c[part] !== undefined) return 'shown';
  if (c[`${part}Erased`] === true) return 'erased';
  if (c[`${part}Hash`]) return 'hashOnly';
  if (part === 'result' && c.status === 'requested') return 'pending';
  return 'none';
}

/**
 * Why a payload is not shown (state as payloadState gives it): the words `openmcp tool-calls show`
 * prints too (its twin is src/sdk/payload-note.ts; a test keeps them equal). Kept by its hash
 * only names every reason it can be: the call does not say which.
 * @param {'erased'|'hashOnly'|'pending'|'none'} state @param {'arguments'|'result'} part
 */
export function payloadNote(state, part) {
  if (state === 'erased') return "Erased, only its hash: recorded encrypted (MCP_PAYLOAD_POLICY=encrypted), and the subject's key has been deleted since.";
  if (state === 'hashOnly') return 'Not recorded, only its hash: MCP_PAYLOAD_POLICY=hash-only, more than 256 KiB of JSON, or arguments a model wrote under LLM_REDACTION=hash-only.';
  if (state === 'pending') return 'No answer yet.';
  return part === 'result' ? 'None: the call got no answer.' : 'Not recorded.';
}

/**
 * How a shown payload's hash is made, when it is not the plain SHA-256 of its canonical JSON: a
 * payload sealed under MCP_PAYLOAD_POLICY=encrypted from 2026-12-11 on has a salted hash
 * (HMAC-SHA256 keyed by a salt sealed with it), which the API names with `<part>HashScheme`, and
 * `<part>Salt` while the subject's key exists (`openmcp tool-calls show` prints them too). Once
 * erased the scheme stays, without the salt: the hash then checks nothing. Undefined for a plain SHA-256.
 * @param {any} c a ToolCallView @param {'arguments'|'result'} part
 * @returns {{ scheme: string, salt?: string, text: string } | undefined}
 */
export function hashScheme(c, part) {
  const scheme = c[`${part}HashScheme`];
  if (typeof scheme !== 'string') return undefined;
  return saltedHash(scheme, c[`${part}Salt`], 'the canonical JSON');
}

/**
 * How a salted hash over `over` is made, with its salt, or without once erased.
 * @param {string} scheme @param {unknown} salt @param {string} over @param {string} [lead]
 * @returns {{ scheme: string, salt?: string, text: string }}
 */
function saltedHash(scheme, salt, over, lead = '') {
  if (typeof salt !== 'string') return { scheme, text: `${lead}HMAC-SHA256 keyed by a salt erased with the subject's key, over ${over} (${scheme}): not a SHA-256, and nothing checks it now` };
  return { scheme, salt, text: `${lead}HMAC-SHA256 keyed by the salt below, over ${over} (${scheme})` };
}

/** How a failed call's withheld message ends under MCP_PAYLOAD_POLICY=encrypted (ToolCallFailed v2). */
const SALTED_DIGEST = /, hmac-sha256-salted-v1 0x[0-9a-f]{64}$/;

/**
 * The salted digest a failed call's withheld message ends with (MCP_PAYLOAD_POLICY=encrypted): its
 * scheme, and its salt while the subject's key exists (`errorSalt`), as hashScheme gives a payload's.
 * Undefined for a message without one (store, or hash-only's plain `sha256 <hash>`). Twin:
 * errorDigest in src/sdk/error-digest.ts (`openmcp tool-calls show`), kept equal by a test.
 * @param {any} c a ToolCallView
 * @returns {{ scheme: string, salt?: string, text: string } | undefined}
 */
export function errorDigest(c) {
  if (!c.error || !SALTED_DIGEST.test(c.error.message)) return undefined;
  return saltedHash('hmac-sha256-salted-v1', c.errorSalt, "the withheld message's canonical JSON", 'The digest it ends with: ');
}
