import { z } from 'zod';
import { limitsOf, mcpServerLimitFields } from '../../events/mcp.events';
import { ConfigError } from '../core/errors';
import type { Actor } from '../core/envelope';
import { envProblems, missingEnvVariables } from './upstream-env';
import { headersProblems, missingVariables } from './upstream-headers';
import { registrationProblem } from './register-schema';
import { missingUrlVariables } from './upstream-url';
import { SHARED_TENANT, type RegisterServerParameters } from './types';
import { loneSurrogateProblem } from '../core/lone-surrogate';
import { readSettingsDocument } from '../core/settings-text';
import { settingsIssuePlace, settingsIssueText, settingsProblemsText, type SettingsProblem } from '../core/settings-issue';

// Strict: a key the gateway does not read (a typo such as `arg`, another client's setting such as
// `envFile`) stops the start naming it, where it was dropped in silence and the server started without it.
const Entry = z.strictObject({
  tenant: z.string().min(1).optional(),
  transport: z.enum(['stdio', 'http', 'sse']).optional(),
  type: z.enum(['stdio', 'http', 'sse', 'streamable-http', 'streamableHttp']).optional(),
  command: z.string().optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  url: z.string().optional(),
  // Headers for an http/sse server, values by reference: {"Authorization": "Bearer ${env:NOTION_TOKEN}"} (the form Cursor's mcp.json uses).
  headers: z.record(z.string(), z.string()).optional(),
  // This server's own timeoutMs, connectTimeoutMs and maxConcurrent, over MCP_CALL_TIMEOUT_MS / MCP_CONNECT_TIMEOUT_MS / MCP_MAX_CONCURRENT.
  ...mcpServerLimitFields,
  // Cline's and Roo Code's switch: a disabled entry is not registered (nor its ${env:…} references required).
  disabled: z.boolean().optional(),
  // Cline's and Roo Code's: whether that client asks its user before calling a tool. Read and ignored:
  // the gateway asks no one, and a client of the gateway keeps its own approvals; refusing them refused a Cline config.
  autoApprove: z.unknown().optional(),
  alwaysAllow: z.unknown().optional(),
});
const ENTRY_KEYS = Object.keys(Entry.shape)
  .filter((k) => k !== 'autoApprove' && k !== 'alwaysAllow')
  .join(', ');

/** Other clients' keys the gateway cannot honour as written: what to write instead (`value` is the entry's). */
const OTHER_CLIENTS_KEYS: Record<string, (value: unknown) => string> = {
  timeout: (v) => `"timeout" is in seconds in Cline and Roo Code: write "timeoutMs": ${typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 1000) : '<seconds × 1000>'}`,
  transportType: (v) => `"transportType" is not read: write "type": ${typeof v === 'string' ? JSON.stringify(v) : '"stdio", "sse" or "streamableHttp"'}`,
  envFile: () => `"envFile" is not read: give each variable in "env" as "\${env:NAME}" and set NAME in the gateway's environment`,
  // Its value is not repeated: a URL may hold a key in its query.
  serverUrl: () => `"serverUrl" is Windsurf's: write "url" (an http(s) URL, its secrets as "\${env:NAME}")`,
  disabledTools: () => `"disabledTools" is not read: the gateway serves every tool a server lists to the MCP clients of its tenant; remove the key (an agent's tasks can be kept from tools with POLICY_FILE's tools.deny)`,
};

/** The value of `key` in the entry at `at` (`mcpServers.<name>`, `servers.<name or index>`: a name may hold dots). */
function entryValue(doc: unknown, at: string, key: string): unknown {
  const dot = at.indexOf('.');
  const container = (doc as Record<string, unknown> | null)?.[at.slice(0, dot)] as Record<string, unknown> | undefined;
  const entry = container?.[at.slice(dot + 1)];
  return entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>)[key] : undefined;
}

// VS Code's and Cursor's variables (${workspaceFolder}, ${userHome}, ${env:NAME}, ${input:id}…), not a shell's ${NAME} or ${NAME:-x}.
const CLIENT_VARIABLE = /\$\{(?:(?:env|input|config|command):[^-=?+}]|(?:workspaceFolder|workspaceFolderBasename|userHome|pathSeparator|\/|cwd)\})/;

/** Where another client would expand its "${…}" variables and the gateway passes them as written. */
function unexpandedVariable(e: { command?: string; args?: string[]; cwd?: string; url?: string }): string | undefined {
  // A URL's ${env:NAME} is the gateway's own (resolved at each connect); another client's variables there are not.
  const url = e.url?.replace(/\$\{env:[A-Za-z_][A-Za-z0-9_]{0,199}\}/g, '');
  const fields: [string, string | undefined][] = [['command', e.command], ...(e.args ?? []).map((a, i): [string, string] => [`args.${i}`, a]), ['cwd', e.cwd], ['url', url]];
  return fields.find(([, v]) => v !== undefined && CLIENT_VARIABLE.test(v))?.[0];
}

const ListForm = z.object({ servers: z.array(Entry.extend({ name: z.string() })) });
// The `mcpServers` map most MCP clients use, so an existing client config can be reused as is.
const McpServersForm = z.object({ mcpServers: z.record(z.string(), Entry) });
// VS Code's .vscode/mcp.json: the same map under `servers` (its `inputs` are not read).
const MapForm = z.object({ servers: z.record(z.string(), Entry) });
const FileSchema = z.union([ListForm, McpServersForm, MapForm]);

/**
 * The form the file is written in, checked as that form: the union alone reports one issue for a
 * file with several (zod's "Invalid input", one branch's issues inside), where each is to be named.
 */
function schemaOf(doc: unknown): z.ZodType<z.infer<typeof FileSchema>> {
  if (doc === null || typeof doc !== 'object') return FileSchema;
  if (Object.hasOwn(doc, 'mcpServers')) return McpServersForm;
  const servers = (doc as Record<string, unknown>).servers;
  if (Array.isArray(servers)) return ListForm;
  if (servers !== null && typeof servers === 'object') return MapForm;
  return FileSchema;
}

/** Values under an entry's `env` and `headers` may be secrets whatever their key (`PIN`, `DSN`): never shown in a refusal. */
const underEnvOrHeaders = (path: readonly PropertyKey[]): boolean => path.length > 3 && (path[2] === 'env' || path[2] === 'headers');

/** A zod issue of the file as the operator is told it: an unknown key with the keys an entry takes, another client's key with what to write instead. */
function issueText(issue: z.core.$ZodIssue, doc: unknown): string {
  const text = settingsIssueText(issue, doc, 'file', underEnvOrHeaders);
  // zod says `Unrecognized key: "arg"`; the operator is told which keys an entry takes.
  const unknown = /^(.*): Unrecognized key(s?): (.*)$/.exec(text);
  if (!unknown) return text;
  // Another client's key: what to write instead (zod quotes each key as JSON does).
  const keys = JSON.parse(`[${unknown[3]}]`) as string[];
  const known = keys.filter((k) => Object.hasOwn(OTHER_CLIENTS_KEYS, k));
  if (!known.length) return `${unknown[1]}: unknown key${unknown[2]} ${unknown[3]} (an entry takes ${ENTRY_KEYS})`;
  const others = keys.filter((k) => !known.includes(k));
  const hints = known.map((k) => OTHER_CLIENTS_KEYS[k]!(entryValue(doc, unknown[1], k)));
  const rest = others.length ? `; unknown key${others.length > 1 ? 's' : ''} ${others.map((k) => JSON.stringify(k)).join(', ')} (an entry takes ${ENTRY_KEYS})` : '';
  return `${unknown[1]}: ${hints.join('; ')}${rest}`;
}

/** A refusal of the file: every problem (at most 5 named, then how many more), each with its line and column. */
function refuse(problems: readonly (SettingsProblem & { variable?: string })[], fileText: string | undefined): never {
  throw new ConfigError(`MCP_SERVERS_FILE: ${settingsProblemsText(problems, fileText)}`, { variable: problems[0]?.variable ?? 'MCP_SERVERS_FILE' });
}

/**
 * Read MCP_SERVERS_FILE (JSON or YAML): `{servers: [{name, transport, command?, args?, env?, url?, headers?, tenant?, timeoutMs?, connectTimeoutMs?, maxConcurrent?}]}`
 * or the common `{mcpServers: {name: {command, args, env} | {url, type, headers}}}` (VS Code's `{servers: {name: …}}` too).
 * Entries without a tenant are shared; an entry with `disabled: true` is left out; a key no entry takes is refused, naming it
 * (another client's `timeout`, `transportType`, `envFile`, `disabledTools` with what to write instead), `autoApprove` and
 * `alwaysAllow` ignored; VS Code's or Cursor's `${workspaceFolder}`, `${env:NAME}` in command, args or cwd refused, and
 * in url any but `${env:NAME}` (in its path or query: McpServerRegistered v6).
 * A header, env or url value referring to an environment variable this process lacks stops start-up, naming both;
 * so does an entry the gateway would refuse (a bad name, url or transport), naming the entry: the whole
 * file is checked before any entry is registered. A refusal names every problem of the file (at most
 * five, then how many more), each with its entry and its line and column; a value under `env` or
 * `headers` is never shown in it.
 */
export function readServersFile(
  path: string,
  actor: Actor,
  /** Told of each entry with `disabled: true` (`at`: where it is in the file, e.g. `mcpServers.files`). */
  onDisabled?: (entry: { tenant: string; name: string; at: string }) => void,
): RegisterServerParameters[] {
  const { doc: parsed, text: fileText } = readSettingsDocument(path, 'MCP_SERVERS_FILE');
  const lone = loneSurrogateProblem(parsed);
  if (lone) throw new ConfigError(`MCP_SERVERS_FILE: ${lone}`, { variable: 'MCP_SERVERS_FILE' });
  // Either form names the servers: with both, one would be registered and the other dropped silently.
  if (parsed !== null && typeof parsed === 'object' && Object.hasOwn(parsed, 'mcpServers') && Object.hasOwn(parsed, 'servers')) {
    refuse([{ text: 'holds both "mcpServers" and "servers": keep one of them (each lists the servers to register)', path: [], key: 'servers' }], fileText);
  }
  const r = schemaOf(parsed).safeParse(parsed);
  // A file the schema refuses: its readable entries are still checked below, so that one refusal
  // names every problem (a typo'd key in one entry, a bad name in another), not the first kind only.
  const schemaProblems: SettingsProblem[] = r.success ? [] : r.error.issues.map((i) => ({ text: issueText(i, parsed), ...settingsIssuePlace(i) }));
  const entries = r.success ? entriesOf(r.data) : readableEntries(parsed);
  if (!entries) refuse(schemaProblems, fileText);
  if (r.success) for (const e of entries) if (e.disabled === true) onDisabled?.({ tenant: e.tenant ?? SHARED_TENANT, name: e.name, at: e.at });
  // Every entry is checked, and every problem named, before any entry is registered.
  const problems: (SettingsProblem & { variable?: string })[] = [...schemaProblems];
  const servers = entries.filter((e) => e.disabled !== true).map((e) => {
    const { at, place } = e;
    const found: (SettingsProblem & { variable?: string })[] = [];
    const problem = (field: readonly PropertyKey[], message: string, variable?: string) =>
      found.push({ text: `${at}.${field.join('.')}: ${message}`, path: [...place, ...field], ...(variable ? { variable } : {}) });
    const literal = unexpandedVariable(e);
    if (literal) {
      problem(literal.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k)), '"${…}" variables are not expanded there (the gateway would pass it as written): write the value itself; "${env:NAME}" is read in "env", "headers" and "url" only');
    }
    const kind = e.transport ?? (e.type === 'sse' ? 'sse' : e.type === 'stdio' ? 'stdio' : e.url ? 'http' : 'stdio');
    if (e.headers) {
      for (const h of headersProblems(e.headers, kind)) problem(h.path, h.message);
      for (const m of missingVariables(e.headers)) problem(['headers', m.header], `environment variable ${m.variable} is not set`, m.variable);
    }
    for (const variable of e.url ? missingUrlVariables(e.url) : []) problem(['url'], `environment variable ${variable} is not set`, variable);
    if (e.env) {
      // Literal values are kept as before (in memory, given again by this file at each start); references are checked like headers.
      for (const v of envProblems(e.env, kind, 'keep')) problem(v.path, v.message);
      for (const m of missingEnvVariables(e.env)) problem(['env', m.name], `environment variable ${m.variable} is not set`, m.variable);
    }
    const p: RegisterServerParameters = { tenant: e.tenant ?? SHARED_TENANT, actor, name: e.name, transport: kind, command: e.command, args: e.args, env: e.env, cwd: e.cwd, url: e.url, limits: limitsOf(e), ...(e.headers ? { headers: e.headers } : {}) };
    // What the gateway would refuse, refused here for every entry before any is registered (unless
    // it is a field named above already: the gateway's check of headers and env names it again).
    const refused = registrationProblem(p);
    if (refused && !found.some((f) => f.path[place.length] === refused.path[0])) {
      // A name is quoted: in the mcpServers form it is the entry's key, and other clients allow spaces there.
      // Placed where the name is written: the entry's key in a map form, its `name` in the list.
      const name = typeof place[1] === 'number' ? { path: [...place, 'name'] } : { path: place.slice(0, 1), key: e.name };
      if (refused.path[0] === 'name') found.push({ text: `${at}: name ${JSON.stringify(e.name)}: ${refused.message}`, ...name });
      else problem(refused.path, refused.message);
    }
    problems.push(...found);
    return p;
  });
  if (problems.length) refuse(inFileOrder(problems, parsed), fileText);
  return servers;
}

type FileEntry = z.infer<typeof Entry> & { name: string; at: string; place: PropertyKey[] };

/** A file's entries, each with where it is written (`at`, `place`: its key in a map form, its index in the list). */
function entriesOf(data: z.infer<typeof FileSchema>): FileEntry[] {
  if ('mcpServers' in data) return Object.entries(data.mcpServers).map(([name, e]) => ({ ...e, name, at: `mcpServers.${name}`, place: ['mcpServers', name] }));
  if (Array.isArray(data.servers)) return data.servers.map((e, i) => ({ ...e, at: `servers.${i}`, place: ['servers', i] }));
  return Object.entries(data.servers).map(([name, e]) => ({ ...e, name, at: `servers.${name}`, place: ['servers', name] }));
}

/**
 * The entries of a file the schema refused that are readable on their own, each where the file
 * writes it (a list's entry keeps its index: one refused before it does not move it); undefined
 * when the file has no form to read them in (no `mcpServers` map, no `servers` map or list).
 */
function readableEntries(doc: unknown): FileEntry[] | undefined {
  if (doc === null || typeof doc !== 'object') return undefined;
  const d = doc as Record<string, unknown>;
  const form = Object.hasOwn(d, 'mcpServers') ? 'mcpServers' : 'servers';
  const container = d[form];
  if (container === null || typeof container !== 'object') return undefined;
  if (Array.isArray(container)) {
    // Only `servers` is a list; an `mcpServers` list is refused as such, its entries not read.
    if (form === 'mcpServers') return undefined;
    const Named = Entry.extend({ name: z.string() });
    return container.flatMap((e, i) => {
      const r = Named.safeParse(e);
      return r.success ? [{ ...r.data, at: `servers.${i}`, place: ['servers', i] }] : [];
    });
  }
  return Object.entries(container).flatMap(([name, e]) => {
    const r = Entry.safeParse(e);
    return r.success ? [{ ...r.data, name, at: `${form}.${name}`, place: [form, name] }] : [];
  });
}

/** Problems ordered by the entry they are in, as the file lists its entries (a problem of no entry first); stable within an entry. */
function inFileOrder<P extends SettingsProblem>(problems: P[], doc: unknown): P[] {
  const d = (doc ?? {}) as Record<string, unknown>;
  const container = (Object.hasOwn(d, 'mcpServers') ? d.mcpServers : d.servers) as Record<string, unknown> | unknown[] | undefined;
  const keys = container && typeof container === 'object' ? Object.keys(container) : [];
  const rank = (p: P) => (p.path.length >= 2 ? keys.indexOf(String(p.path[1])) : p.key !== undefined ? keys.indexOf(String(p.key)) : -1);
  return problems.map((p, i) => ({ p, i, r: rank(p) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.p);
}
