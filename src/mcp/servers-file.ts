import { z } from 'zod';
import { limitsOf, mcpServerLimitFields } from '../../events/mcp.events';
import { ConfigError } from '../core/errors';
import type { Actor } from '../core/envelope';
import { envProblems, missingEnvVariables } from './upstream-env';
import { headersProblems, missingVariables } from './upstream-headers';
import { registrationProblem } from './register-schema';
import { SHARED_TENANT, type RegisterServerParameters } from './types';
import { loneSurrogateProblem } from '../core/lone-surrogate';
import { readSettingsFile } from '../core/settings-text';
import { settingsIssueText } from '../core/settings-issue';

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
  const fields: [string, string | undefined][] = [['command', e.command], ...(e.args ?? []).map((a, i): [string, string] => [`args.${i}`, a]), ['cwd', e.cwd], ['url', e.url]];
  return fields.find(([, v]) => v !== undefined && CLIENT_VARIABLE.test(v))?.[0];
}

const FileSchema = z.union([
  z.object({ servers: z.array(Entry.extend({ name: z.string() })) }),
  // The `mcpServers` map most MCP clients use, so an existing client config can be reused as is.
  z.object({ mcpServers: z.record(z.string(), Entry) }),
  // VS Code's .vscode/mcp.json: the same map under `servers` (its `inputs` are not read).
  z.object({ servers: z.record(z.string(), Entry) }),
]);

/**
 * Read MCP_SERVERS_FILE (JSON or YAML): `{servers: [{name, transport, command?, args?, env?, url?, headers?, tenant?, timeoutMs?, connectTimeoutMs?, maxConcurrent?}]}`
 * or the common `{mcpServers: {name: {command, args, env} | {url, type, headers}}}` (VS Code's `{servers: {name: …}}` too).
 * Entries without a tenant are shared; an entry with `disabled: true` is left out; a key no entry takes is refused, naming it
 * (another client's `timeout`, `transportType`, `envFile`, `disabledTools` with what to write instead), `autoApprove` and
 * `alwaysAllow` ignored; VS Code's or Cursor's `${workspaceFolder}`, `${env:NAME}` in command, args, cwd or url refused.
 * A header or env value referring to an environment variable this process lacks stops start-up, naming both;
 * so does an entry the gateway would refuse (a bad name, url or transport), naming the entry: the whole
 * file is checked before any entry is registered.
 */
export function readServersFile(
  path: string,
  actor: Actor,
  /** Told of each entry with `disabled: true` (`at`: where it is in the file, e.g. `mcpServers.files`). */
  onDisabled?: (entry: { tenant: string; name: string; at: string }) => void,
): RegisterServerParameters[] {
  const parsed = readSettingsFile(path, 'MCP_SERVERS_FILE');
  const lone = loneSurrogateProblem(parsed);
  if (lone) throw new ConfigError(`MCP_SERVERS_FILE: ${lone}`, { variable: 'MCP_SERVERS_FILE' });
  // Either form names the servers: with both, one would be registered and the other dropped silently.
  if (parsed !== null && typeof parsed === 'object' && Object.hasOwn(parsed, 'mcpServers') && Object.hasOwn(parsed, 'servers')) {
    throw new ConfigError('MCP_SERVERS_FILE: holds both "mcpServers" and "servers": keep one of them (each lists the servers to register)', { variable: 'MCP_SERVERS_FILE' });
  }
  const r = FileSchema.safeParse(parsed);
  if (!r.success) {
    const issue = settingsIssueText(r.error.issues[0], parsed, 'file');
    // zod says `Unrecognized key: "arg"`; the operator is told which keys an entry takes.
    const unknown = /^(.*): Unrecognized key(s?): (.*)$/.exec(issue);
    let text = unknown ? `${unknown[1]}: unknown key${unknown[2]} ${unknown[3]} (an entry takes ${ENTRY_KEYS})` : issue;
    if (unknown) {
      // Another client's key: what to write instead (zod quotes each key as JSON does).
      const keys = JSON.parse(`[${unknown[3]}]`) as string[];
      const known = keys.filter((k) => Object.hasOwn(OTHER_CLIENTS_KEYS, k));
      if (known.length) {
        const others = keys.filter((k) => !known.includes(k));
        const hints = known.map((k) => OTHER_CLIENTS_KEYS[k]!(entryValue(parsed, unknown[1], k)));
        const rest = others.length ? `; unknown key${others.length > 1 ? 's' : ''} ${others.map((k) => JSON.stringify(k)).join(', ')} (an entry takes ${ENTRY_KEYS})` : '';
        text = `${unknown[1]}: ${hints.join('; ')}${rest}`;
      }
    }
    throw new ConfigError(`MCP_SERVERS_FILE: ${text}`, { variable: 'MCP_SERVERS_FILE' });
  }
  const data = r.data;
  const entries =
    'mcpServers' in data
      ? Object.entries(data.mcpServers).map(([name, e]) => ({ ...e, name, at: `mcpServers.${name}` }))
      : Array.isArray(data.servers)
        ? data.servers.map((e, i) => ({ ...e, at: `servers.${i}` }))
        : Object.entries(data.servers).map(([name, e]) => ({ ...e, name, at: `servers.${name}` }));
  for (const e of entries) if (e.disabled === true) onDisabled?.({ tenant: e.tenant ?? SHARED_TENANT, name: e.name, at: e.at });
  return entries.filter((e) => e.disabled !== true).map((e) => {
    const at = e.at;
    const literal = unexpandedVariable(e);
    if (literal) {
      throw new ConfigError(
        `MCP_SERVERS_FILE: ${at}.${literal}: "\${…}" variables are not expanded there (the gateway would pass it as written): write the value itself; "\${env:NAME}" is read in "env" and "headers" only`,
        { variable: 'MCP_SERVERS_FILE' },
      );
    }
    const kind = e.transport ?? (e.type === 'sse' ? 'sse' : e.type === 'stdio' ? 'stdio' : e.url ? 'http' : 'stdio');
    if (e.headers) {
      const problem = headersProblems(e.headers, kind)[0];
      if (problem) throw new ConfigError(`MCP_SERVERS_FILE: ${at}.${problem.path.join('.')}: ${problem.message}`, { variable: 'MCP_SERVERS_FILE' });
      const missing = missingVariables(e.headers)[0];
      if (missing) {
        throw new ConfigError(`MCP_SERVERS_FILE: ${at}.headers.${missing.header}: environment variable ${missing.variable} is not set`, { variable: missing.variable });
      }
    }
    if (e.env) {
      // Literal values are kept as before (in memory, given again by this file at each start); references are checked like headers.
      const problem = envProblems(e.env, kind, 'keep')[0];
      if (problem) throw new ConfigError(`MCP_SERVERS_FILE: ${at}.${problem.path.join('.')}: ${problem.message}`, { variable: 'MCP_SERVERS_FILE' });
      const missing = missingEnvVariables(e.env)[0];
      if (missing) throw new ConfigError(`MCP_SERVERS_FILE: ${at}.env.${missing.name}: environment variable ${missing.variable} is not set`, { variable: missing.variable });
    }
    const p: RegisterServerParameters = { tenant: e.tenant ?? SHARED_TENANT, actor, name: e.name, transport: kind, command: e.command, args: e.args, env: e.env, cwd: e.cwd, url: e.url, limits: limitsOf(e), ...(e.headers ? { headers: e.headers } : {}) };
    // What the gateway would refuse, refused here for every entry before any is registered.
    const refused = registrationProblem(p);
    if (refused) {
      // A name is quoted: in the mcpServers form it is the entry's key, and other clients allow spaces there.
      const where = refused.path[0] === 'name' ? `${at}: name ${JSON.stringify(e.name)}` : `${at}.${refused.path.join('.')}`;
      throw new ConfigError(`MCP_SERVERS_FILE: ${where}: ${refused.message}`, { variable: 'MCP_SERVERS_FILE' });
    }
    return p;
  });
}
