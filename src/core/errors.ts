/**
 * One error base for the whole product. Every error carries a stable `code` (listed in
 * docs/errors.md), the HTTP status it maps to, and an optional cause chain.
 * Messages never include secrets: use `redactUrl` for anything that may hold credentials.
 */
export type ErrorDetails = Record<string, unknown>;

export class OpenMcpError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: ErrorDetails;

  constructor(code: string, message: string, opts: { status?: number; cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status ?? 500;
    this.details = opts.details;
  }
}

/** Input that does not satisfy a schema or a precondition. Always names the field. */
export class ValidationError extends OpenMcpError {
  constructor(message: string, details?: ErrorDetails) {
    super('VALIDATION_FAILED', message, { status: 400, details });
  }
}

/** A list cursor that this server did not issue (or that belongs to another list): 400 naming `cursor`, on every list alike. */
export class InvalidCursorError extends OpenMcpError {
  constructor(message = 'cursor: not one this server issued for this list; pass back the nextCursor of a previous page unchanged') {
    super('INVALID_CURSOR', message, { status: 400, details: { field: 'cursor' } });
  }
}

export class NotFoundError extends OpenMcpError {
  constructor(what: string, id: string) {
    super('NOT_FOUND', `${what} ${id} not found`, { status: 404, details: { what, id } });
  }
}

/** The stream is not at the revision the caller expected (optimistic concurrency). */
export class WrongExpectedRevisionError extends OpenMcpError {
  constructor(readonly stream: string, readonly expected: string, readonly actual: string) {
    super('WRONG_EXPECTED_REVISION', `stream ${stream}: expected revision ${expected}, actual ${actual}`, {
      status: 409,
      details: { stream, expected, actual },
    });
  }
}

/** A command that the aggregate's current state does not allow (e.g. completing a cancelled task). */
export class InvalidTransitionError extends OpenMcpError {
  constructor(readonly aggregate: string, readonly from: string, readonly command: string, message?: string) {
    super('INVALID_TRANSITION', message ?? `${aggregate} in state ${from} cannot ${command}`, {
      status: 409,
      details: { aggregate, from, command },
    });
  }
}

export class ConfigError extends OpenMcpError {
  constructor(message: string, details?: ErrorDetails) {
    super('CONFIG_INVALID', message, { status: 500, details });
  }
}

/** A dependency (database, broker, chain, upstream) could not be reached or failed. */
/**
 * Socket error codes of a server that cannot be reached a moment (refused, reset, timed out, no
 * route, a name that does not resolve yet): what every adapter reports as UnavailableError.
 */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

export class UnavailableError extends OpenMcpError {
  constructor(what: string, message: string, cause?: unknown) {
    super('DEPENDENCY_UNAVAILABLE', `${what}: ${message}`, { status: 503, cause, details: { dependency: what } });
  }
}

/**
 * A request this process gave up on as it shut down (a drain's cut-off: docs/operations.md,
 * "Draining"): 503 `DEPENDENCY_UNAVAILABLE` with `Retry-After: 1`, so the client sends it again,
 * to another replica. `what` says what was not done.
 * @example new ShuttingDownError('the contract description was not finished')
 */
export class ShuttingDownError extends OpenMcpError {
  constructor(what: string) {
    super('DEPENDENCY_UNAVAILABLE', `this process is shutting down: ${what}; send the request again (another replica answers, or this one once restarted)`, {
      status: 503,
      details: { retryAfterSeconds: 1 },
    });
  }
}

/**
 * The code to count or report a thrown value under: its `code` when that is a string (our own
 * errors' stable codes, a driver's `ER_…`/`ECONNREFUSED`), otherwise `INTERNAL` (a bug, a value
 * thrown that is not an error, a numeric gRPC status).
 * @example metrics.errors.inc({ code: errorCodeOf(err) })
 */
export function errorCodeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : 'INTERNAL';
}

export type RedactUrlOptions = {
  /**
   * Also mask key-like path segments (chain RPC providers take the API key in the path: Infura
   * `/v3/<key>`, Alchemy `/v2/<key>`). For what is only read (logs, printed errors), never for a
   * URL that is stored to be used again (an MCP upstream's, whose path may hold an id it needs).
   */
  pathKeys?: boolean;
};

/**
 * A URL fit for a message, a log or the event log: its user name, password and credential-like
 * query values (`?api_key=`, `?token=`, `?sig=` …) replaced by `***`; with `pathKeys`, key-like
 * path segments too.
 */
export function redactUrl(url: string, opts: RedactUrlOptions = {}): string {
  return withReferencesKept(url, (u) => {
    if (u.username) u.username = '***';
    if (u.password) u.password = '***';
    for (const [k, v] of [...u.searchParams]) if (SECRET_PARAM.test(k) && !REF_TOKEN.test(v)) u.searchParams.set(k, '***');
    if (opts.pathKeys && u.pathname.split('/').some(isKeyLike)) u.pathname = u.pathname.split('/').map((seg) => (isKeyLike(seg) ? '***' : seg)).join('/');
  });
}

/**
 * `url` parsed, changed by `change` and written again, with its `${env:NAME}` references as
 * written: an MCP upstream's URL may refer to the gateway's environment (`?api_key=${env:NAME}`),
 * a name and no value, which messages show as it is (not masked, its braces not percent-encoded)
 * so that they name the variable the operator sets. Each stands in for the parse as a token no URL
 * changes. A URL that does not parse: everything between its `//` and its last `@` masked (with `change`), or as it is.
 */
function withReferencesKept(url: string, change?: (u: URL) => void): string {
  const refs: string[] = [];
  const stand = url.includes('${env:') ? url.replace(ENV_REFERENCE, (m) => `openmcpenvref${refs.push(m) - 1}z`) : url;
  const back = (text: string) => (refs.length ? text.replace(REF_TOKENS, (_, i: string) => refs[Number(i)]) : text);
  try {
    const u = new URL(stand);
    change?.(u);
    return back(u.toString());
  } catch {
    // All of it up to the last @: a password holding an unencoded / or # is often why it does not parse.
    // Spaces too: a cluster's connection string (no URL) with a space in its password is taken by the KurrentDB client.
    return back(change ? stand.replace(/\/\/[^]*@/, '//***@') : stand);
  }
}

/** `${env:NAME}`, as MCP upstreams' headers, env and URLs refer to the gateway's environment. */
const ENV_REFERENCE = /\$\{env:[A-Za-z_][A-Za-z0-9_]{0,199}\}/g;
const REF_TOKEN = /openmcpenvref\d+z/;
const REF_TOKENS = /openmcpenvref(\d+)z/g;

/**
 * Whether redactUrl would mask anything in `url` (a user name or password, a credential-like query
 * value, with `pathKeys` a key-like path segment): such a URL is never handed out whole.
 * @example urlHoldsCredentials('https://mainnet.infura.io/v3/<32 hex>', { pathKeys: true }) // true
 */
export function urlHoldsCredentials(url: string, opts: RedactUrlOptions = {}): boolean {
  return redactUrl(url, opts) !== withReferencesKept(url);
}

/** `text` with every URL in it passed through redactUrl (error messages repeat the URL they failed on). */
export function redactUrlsIn(text: string, opts: RedactUrlOptions = {}): string {
  // Punctuation closing the sentence or bracket around a URL is not part of it: left in, it would
  // hide a key in the path's last segment from isKeyLike ("…/v2/<key>)").
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, (u) => {
    let tail = /[.,;:!?)\]}]+$/.exec(u)?.[0] ?? '';
    // The brace that closes a `${env:NAME}` reference is the URL's own.
    if (tail.startsWith('}') && /\$\{env:[A-Za-z0-9_]+$/.test(u.slice(0, u.length - tail.length))) tail = tail.slice(1);
    return redactUrl(u.slice(0, u.length - tail.length), opts) + tail;
  });
}

/**
 * A path segment that looks like an API key: 20 or more letters, digits, `-` or `_`, with both
 * letters and digits or both cases of letters (a key, a token, also an id; never a word-like
 * name such as `ethereum-mainnet-archive`).
 */
function isKeyLike(segment: string): boolean {
  if (segment.length < 20 || !/^[A-Za-z0-9_-]+$/.test(segment)) return false;
  return (/[0-9]/.test(segment) && /[A-Za-z]/.test(segment)) || (/[a-z]/.test(segment) && /[A-Z]/.test(segment));
}

/** Query parameters that commonly carry a credential (`?api_key=`, `?token=`, `?sig=` …). */
const SECRET_PARAM = /key|token|secret|passw|pwd|auth|sig|credential|session/i;
