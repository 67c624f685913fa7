import { HEADER_TEMPLATE } from '../../events/mcp.events';
import { redactUrl, urlHoldsCredentials } from '../core/errors';
import { referencedVariables, resolveReferences } from './env-reference';

/**
 * An http or sse upstream's URL may refer to the gateway's environment in its path or query, as
 * headers do: `https://mcp.example.com/mcp?api_key=${env:EXAMPLE_KEY}` (hosted MCP services hand
 * out such URLs). The log records it as written (McpServerRegistered v6 `urlTemplate`), the
 * variable's name and never its value, and each process puts its own variable's value in it when it connects; listings,
 * errors and health reasons show the template. A URL without a reference is recorded with its
 * credentials masked (`?api_key=***`), so only the process that registered it can connect to it.
 *
 * The value goes into the URL as it is, and so must be a URL component already: letters, digits,
 * `-._~` and `%XX` escapes (VALUE), not dots alone (a path's `.` or `..`). Anything else (`/ ? # & = +`, a space) would change the URL's
 * structure or be read differently by the server (`+` as a space in a query), and encoding it
 * here would encode a value given encoded a second time: it is refused, naming the variable, and
 * the operator percent-encodes it in the variable (`/` as `%2F`).
 */

/** What a referenced variable's value may hold: unreserved characters (RFC 3986) and percent-escapes. */
const VALUE = /^(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})+$/;

/** Whether `url` is meant as a template (any `${`), not a URL to use as written. */
export function isUrlTemplate(url: string): boolean {
  return url.includes('${');
}

/**
 * The URL as messages, listings and the log may show it: a template as written (it holds names,
 * never values), any other URL with its credentials masked (redactUrl).
 */
export function shownUrl(url: string): string {
  return isUrlTemplate(url) ? url : redactUrl(url);
}

/**
 * The template with each reference masked (`?api_key=***`): McpServerRegistered v6's `url`, beside
 * the template in `urlTemplate`, so that a reader of `url` alone (a release before v6, a consumer)
 * finds a URL with its credentials masked, as ever, never a `${env:NAME}` it would use as written.
 */
export function maskedTemplate(template: string): string {
  return template.replace(/\$\{env:[A-Za-z_][A-Za-z0-9_]*\}/g, '***');
}

/**
 * Why `template` cannot be an upstream's URL template, or undefined when it can: at least one
 * `${env:NAME}` and no other `${`, only in the path or the query (a reference in the scheme, host,
 * port or fragment is refused: where the gateway connects is not an environment's choice), and no
 * credential-like query value written as such (`token=abc`: the log records the template as written).
 * Requires a URL that parses once each reference stands for a value.
 */
export function urlTemplateProblem(template: string): string | undefined {
  if (template.length > 2000) return 'at most 2000 characters';
  if (!HEADER_TEMPLATE.test(template)) {
    return 'not a valid reference: write ${env:NAME} (the gateway\'s variable NAME) in the path or the query, no other "${", no control characters';
  }
  // Each reference as a value would stand there, to see where in the URL it falls.
  const marker = (i: number) => `openmcpenvref${i}z`;
  let i = 0;
  const stand = template.replace(/\$\{env:[A-Za-z_][A-Za-z0-9_]*\}/g, () => marker(i++));
  if (!URL.canParse(stand)) return 'not a valid URL once each ${env:NAME} stands for a value';
  const u = new URL(stand);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'an http or https URL';
  if (/openmcpenvref\d+z/.test(`${u.protocol}//${u.username}:${u.password}@${u.host}`)) return '${env:NAME} may stand in the path or the query only, not in the host or the port';
  if (/openmcpenvref\d+z/.test(u.hash)) return '${env:NAME} may stand in the path or the query only, not in the fragment (#…), which is never sent';
  // What the log would record as written beside the references: no credential of its own.
  for (const [k, v] of [...u.searchParams]) if (/openmcpenvref\d+z/.test(v)) u.searchParams.delete(k, v);
  if (urlHoldsCredentials(u.toString())) {
    return 'a URL with ${env:NAME} is recorded as written: give each credential in it by reference too (e.g. "?api_key=${env:NAME}"), never as such';
  }
  return undefined;
}

/** Variables the URL template refers to that are not set (or empty) in `processEnv`. */
export function missingUrlVariables(url: string, processEnv: NodeJS.ProcessEnv = process.env): string[] {
  return isUrlTemplate(url) ? referencedVariables(url).filter((v) => !processEnv[v]) : [];
}

/**
 * The URL to connect to: the template with each reference replaced by this process's variable, or
 * a URL without references as it is. Throws MCP_UPSTREAM_UNAVAILABLE naming the variable (never a
 * value) when one is unset, or holds a character the URL cannot carry as it is (see VALUE).
 * @example resolveUrl('https://h/mcp?api_key=${env:K}', { K: 'abc' }) // 'https://h/mcp?api_key=abc'
 */
export function resolveUrl(url: string, processEnv: NodeJS.ProcessEnv = process.env): string {
  if (!isUrlTemplate(url)) return url;
  return resolveReferences(url, processEnv, 'url', { field: 'url' }, (v) => {
    if (!VALUE.test(v)) return 'holds a character a URL cannot carry as it is (only letters, digits, -._~ and %XX escapes): percent-encode it in the variable (e.g. / as %2F, + as %2B)';
    // `.` and `..` (or `%2e`) as a path segment would be resolved away, reaching another path.
    if (/^(?:\.|%2e)+$/i.test(v)) return 'holds only dots, which a URL path reads as . or .. (another path)';
    return undefined;
  });
}

/**
 * `text` with each value the URL template's variables hold in `processEnv` (4 characters or more,
 * as given and percent-decoded) replaced by its reference: what an error that repeats the URL it
 * was given (or a part of it) may say. A shorter value is no secret, and replacing it would garble
 * the text (`v1`, `401`).
 */
export function withoutUrlValues(text: string, url: string | undefined, processEnv: NodeJS.ProcessEnv = process.env): string {
  if (!url || !isUrlTemplate(url)) return text;
  let out = text;
  for (const variable of new Set(referencedVariables(url))) {
    const value = processEnv[variable];
    if (!value || value.length < 4) continue;
    let decoded = value;
    try {
      decoded = decodeURIComponent(value);
    } catch {
      // Not a valid escape sequence: only the value as given can appear.
    }
    for (const form of new Set([value, decoded])) if (form.length >= 4) out = out.split(form).join(`\${env:${variable}}`);
  }
  return out;
}

/**
 * `value` without the values of the URL template's variables (withoutUrlValues) in any text it
 * holds: a string, an upstream's JSON-RPC error `data` (a copy), or an error and those it wraps
 * (`cause`) changed in place — their message, stack and other fields. The gateway keeps the SDK's
 * error as its own's cause (what healthCauseOf reads), and a log serialises it whole, the cause's
 * message and stack included: the SDK quotes there what the upstream answered (`Error POSTing to
 * endpoint (HTTP 404): Cannot POST /s/<value>/mcp`).
 * @example withoutUrlValuesIn({ hint: 'key abcd1234' }, 'https://h/?k=${env:K}', { K: 'abcd1234' }) // { hint: 'key ${env:K}' }
 */
export function withoutUrlValuesIn<T>(value: T, url: string | undefined, processEnv: NodeJS.ProcessEnv = process.env, depth = 0): T {
  if (!url || !isUrlTemplate(url) || depth > 8) return value;
  const inner = (v: unknown) => withoutUrlValuesIn(v, url, processEnv, depth + 1);
  if (typeof value === 'string') return withoutUrlValues(value, url, processEnv) as T;
  if (Array.isArray(value)) return value.map(inner) as T;
  if (value instanceof Error) {
    // message, stack, cause and AggregateError's errors are not enumerable; an SDK's own fields (code, input) are.
    const fields = value as unknown as Record<string, unknown>;
    for (const key of new Set(['message', 'stack', 'cause', 'errors', ...Object.keys(value)])) {
      const was = fields[key];
      const now = inner(was);
      if (now !== was) {
        try {
          fields[key] = now;
        } catch {
          // A read-only field: nothing this process can change.
        }
      }
    }
    return value;
  }
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inner(v)])) as T;
  }
  return value;
}
