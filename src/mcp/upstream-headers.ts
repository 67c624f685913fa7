import { HEADER_NAME, HEADER_TEMPLATE } from '../../events/mcp.events';
import { referencedVariables, resolveReferences } from './env-reference';

/**
 * Headers the gateway sends to an HTTP or SSE upstream (an `Authorization: Bearer …` or an API-key
 * header). Their values are templates whose secret parts are references to the gateway's
 * environment, `${env:NAME}`, e.g. `Bearer ${env:NOTION_TOKEN}`: the log, the catalog and every
 * listing hold the template, never the value, and each replica (or a restart) reads the value from
 * its own environment when it connects. Hence every value must hold at least one reference: a
 * literal-only value would be a secret written to the immutable log.
 */

/**
 * Headers the SDK transport sets itself (content negotiation, the MCP session and protocol
 * version, SSE resumption) or that belong to the connection, not the request (hop-by-hop, framing,
 * routing). Sending our own would break the protocol or be dropped by fetch; lower case.
 */
export const RESERVED_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'connection',
  'content-length',
  'content-type',
  'expect',
  'host',
  'keep-alive',
  'last-event-id',
  'mcp-protocol-version',
  'mcp-session-id',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Why `name` cannot be an upstream header, or undefined when it can. */
export function headerNameProblem(name: string): string | undefined {
  if (!HEADER_NAME.test(name)) return 'not a valid header name (letters, digits and !#$%&\'*+.^_`|~-, at most 100)';
  if (RESERVED_HEADERS.has(name.toLowerCase())) return `${name} is set by the MCP transport or the connection itself and cannot be configured`;
  return undefined;
}

/** Why `template` cannot be an upstream header value, or undefined when it can. */
export function headerTemplateProblem(template: string): string | undefined {
  if (template.length > 2000) return 'at most 2000 characters';
  if (!HEADER_TEMPLATE.test(template)) {
    return 'give the value by reference to an environment variable of the gateway, e.g. "Bearer ${env:UPSTREAM_TOKEN}" (a literal value would be written to the immutable event log); no other "${", no control characters';
  }
  return undefined;
}

/**
 * What is wrong with a registration's `headers` (for a server of `transport`): each problem with
 * the path of the field (`['headers', 'Authorization']`), none when they are fine.
 */
export function headersProblems(headers: Record<string, string>, transport: string): { path: string[]; message: string }[] {
  const out: { path: string[]; message: string }[] = [];
  const names = Object.keys(headers);
  if (transport === 'stdio') out.push({ path: ['headers'], message: 'headers are for http and sse servers (a stdio server takes env)' });
  if (names.length < 1 || names.length > 20) out.push({ path: ['headers'], message: '1 to 20 headers' });
  const seen = new Set<string>();
  for (const n of names) {
    const problem = headerNameProblem(n) ?? (seen.has(n.toLowerCase()) ? `${n} is given twice (header names ignore case)` : headerTemplateProblem(headers[n]));
    seen.add(n.toLowerCase());
    if (problem) out.push({ path: ['headers', n], message: problem });
  }
  return out;
}

/** Variables referenced by `headers` and not set (or empty) in `env`, each with the header that needs it. */
export function missingVariables(headers: Record<string, string>, env: NodeJS.ProcessEnv = process.env): { header: string; variable: string }[] {
  return Object.entries(headers).flatMap(([header, t]) => referencedVariables(t).filter((v) => !env[v]).map((variable) => ({ header, variable })));
}

/**
 * The headers to send: each template with its references replaced by the variables' values.
 * Throws MCP_UPSTREAM_UNAVAILABLE naming the header and the variable (never a value) when one is
 * unset or its value cannot be sent in a header (fetch would repeat the value in its own error).
 */
export function resolveHeaders(headers: Record<string, string>, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [header, template] of Object.entries(headers)) {
    // A header value is visible ASCII, spaces and tabs (and obs-text); CR/LF would split it.
    out[header] = resolveReferences(template, env, `header ${header}`, { header }, (v) =>
      /[\x00-\x08\x0a-\x1f\x7f]/.test(v) ? 'holds a control character (a line break?), which a header cannot carry' : undefined,
    ).trim();
  }
  return out;
}
