import { cliTable } from './table';
import { printable, printableJson } from './printable';
import { limitsOf } from '../../events/mcp.events';
import { OpenMcpError, urlHoldsCredentials } from '../core/errors';
import type { RegisterServerInput } from '../api/schemas/mcp';
import type { OpenMcpClient } from '../sdk/client';
import { reportCliError, stdout, type Writer } from './tasks';
import { UsageError } from './usage-error';
import { isUuid } from '../core/ids';

export type McpServersAddOptions = {
  /** The command line of a stdio server: the program, then its arguments. */
  command?: string[];
  url?: string;
  /** `http` (streamable HTTP, the default with --url) or `sse`. */
  transport?: 'http' | 'sse';
  /** `KEY=template` for a stdio server's environment (repeatable), e.g. `GITHUB_TOKEN=${env:GITHUB_TOKEN}`. */
  env?: string[];
  /** `Name: template` for an http/sse server (repeatable), e.g. `Authorization: Bearer ${env:TOKEN}`. */
  header?: string[];
  /** This server's call and connect timeouts (ms) and calls in flight, over the gateway-wide settings. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  maxConcurrent?: number;
};

/** The registration body from the command line: a command (stdio) or a URL (http/sse), not both. */
export function registrationOf(name: string, o: McpServersAddOptions): RegisterServerInput {
  return { ...endpointOf(name, o), ...limitsOf(o) };
}

function endpointOf(name: string, o: McpServersAddOptions): RegisterServerInput {
  const command = o.command ?? [];
  if (command.length && o.url) throw new UsageError('give either a command (after --) or --url, not both', { field: 'command' });
  if (!command.length && !o.url) throw new UsageError('give the server: a command after -- (stdio), or --url (streamable HTTP or SSE)', { field: 'command' });
  if (o.url) {
    if (o.env?.length) throw new UsageError('--env is for stdio servers (a remote server has its own environment)', { field: 'env' });
    refuseExpandedReference(o.url);
    const headers = headersOf(o.header ?? []);
    return { name, transport: o.transport ?? 'http', url: o.url, ...(headers ? { headers } : {}) };
  }
  if (o.header?.length) throw new UsageError('--header is for servers given by --url', { field: 'header' });
  if (o.transport) throw new UsageError(`--transport ${o.transport} needs --url`, { field: 'transport' });
  const env: Record<string, string> = {};
  for (const pair of o.env ?? []) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new UsageError(`--env ${JSON.stringify(pair)}: expected KEY=VALUE`, { field: 'env' });
    const key = pair.slice(0, i);
    refuseProtoName('env', key);
    // The gateway records references only (a value would be lost at its next restart); in double
    // quotes or none, the shell turns ${env:X} into '' (or X's tail): nothing left to refer to.
    if (!pair.slice(i + 1).includes('${env:')) {
      throw new UsageError(`--env ${key}: give the value by reference to an environment variable of the gateway, in single quotes: --env '${key}=\${env:${key}}'`, { field: 'env' });
    }
    env[key] = pair.slice(i + 1);
  }
  const [program, ...args] = command;
  return { name, transport: 'stdio', command: program, ...(args.length ? { args } : {}), ...(Object.keys(env).length ? { env } : {}) };
}

/**
 * In double quotes (or none) the shell turns `?api_key=${env:NAME}` into `?api_key=`: an empty
 * credential the gateway would connect with (401) and record. Refused with the single-quoted form.
 */
function refuseExpandedReference(url: string): void {
  if (!URL.canParse(url)) return;
  const u = new URL(url);
  const empty = [...u.searchParams].find(([k, v]) => v === '' && urlHoldsCredentials(`http://h/?${encodeURIComponent(k)}=`));
  if (!empty) return;
  u.searchParams.set(empty[0], '__REFERENCE__');
  const quoted = u.toString().replace('__REFERENCE__', '${env:NAME}');
  throw new UsageError(`--url: ${empty[0]} is empty: if it was \${env:NAME}, the shell expanded it (in double quotes or none); put the URL in single quotes: --url '${quoted}'`, { field: 'url' });
}

/**
 * Pairs are gathered by assignment, which takes the name `__proto__` for the object's prototype:
 * the variable or header would vanish without a word (the gateway refuses the name anyway).
 */
function refuseProtoName(option: 'env' | 'header', name: string): void {
  if (name === '__proto__') throw new UsageError(`--${option} __proto__: JavaScript would take this name for the object's prototype and drop it; rename it`, { field: option });
}

/** `--header 'Name: value'` pairs as a headers object (the gateway checks names and values). */
function headersOf(pairs: string[]): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf(':');
    if (i <= 0) throw new UsageError(`--header ${JSON.stringify(pair)}: expected 'Name: value'`, { field: 'header' });
    refuseProtoName('header', pair.slice(0, i).trim());
    const value = pair.slice(i + 1).trim();
    // In double quotes or none, the shell turns ${env:X} into '' (or X's tail): nothing left to refer to.
    if (!value.includes('${env:')) {
      throw new UsageError(`--header ${pair.slice(0, i)}: give the value by reference to an environment variable of the gateway, in single quotes: --header '${pair.slice(0, i)}: Bearer \${env:TOKEN}'`, { field: 'header' });
    }
    headers[pair.slice(0, i).trim()] = value;
  }
  return pairs.length ? headers : undefined;
}

/**
 * `openmcp mcp servers add <name> -- <command> [args…]` (stdio; cross-tenant admin keys only) or
 * `openmcp mcp servers add <name> --url URL [--transport sse]`: registers the upstream and prints
 * its id and tools. The registration is an event; every gateway replica picks it up from the log.
 */
export async function runMcpServersAdd(client: OpenMcpClient, name: string, o: McpServersAddOptions, out: Writer = stdout): Promise<number> {
  try {
    const s = await client.mcpServers.register(registrationOf(name, o));
    out(`registered ${s.name} (${s.transport})  id ${s.id}${s.health ? `  ${s.health}${s.health !== 'up' && s.healthReason ? ` (${printable(s.healthReason)})` : ''}` : ''}${s.toolCount !== undefined ? `  ${s.toolCount} tool(s)` : ''}${limitsText(s.limits)}${s.headers ? `  headers ${Object.keys(s.headers).join(', ')}` : ''}${s.env ? `  env ${Object.keys(s.env).join(', ')}` : ''}`);
    // Registered in the key's tenant: only that tenant's keys see its tools (the bootstrap admin's is `default`).
    if (s.tenant) out(`tenant ${printable(s.tenant)}: its keys' MCP clients call its tools as ${s.name}__<tool>`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}

/** `  timeout 300 ms, connect timeout 60000 ms, 4 in flight`, or '' when the server has no limits of its own. */
function limitsText(l?: { timeoutMs?: number; connectTimeoutMs?: number; maxConcurrent?: number }): string {
  const parts = [
    ...(l?.timeoutMs !== undefined ? [`timeout ${l.timeoutMs} ms`] : []),
    ...(l?.connectTimeoutMs !== undefined ? [`connect timeout ${l.connectTimeoutMs} ms`] : []),
    ...(l?.maxConcurrent !== undefined ? [`${l.maxConcurrent} in flight`] : []),
  ];
  return parts.length ? `  ${parts.join(', ')}` : '';
}

/** `openmcp mcp servers list [--json]`: the tenant's upstreams with health and tool counts. */
export async function runMcpServersList(client: OpenMcpClient, o: { json?: boolean } = {}, out: Writer = stdout): Promise<number> {
  try {
    const items = await client.mcpServers.list();
    if (o.json) {
      for (const s of items) out(printableJson(s));
      return 0;
    }
    // A server that is not up says why (a missing ${env:…} variable, a refused connection).
    const health = (s: (typeof items)[number]) => (s.health && s.health !== 'up' && s.healthReason ? `${s.health}: ${printable(s.healthReason)}` : (s.health ?? ''));
    const table = cliTable({ head: ['id', 'name', 'transport', 'tenant', 'health', 'tools', 'limits'], colWidths: [null, null, null, null, 40, null, null], wordWrap: true });
    for (const s of items) table.push([s.id, s.name, s.transport, s.tenant ?? '', health(s), s.toolCount ?? '', limitsText(s.limits).trim()]);
    out(table.toString());
    out(`${items.length} server(s)`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}

/**
 * `openmcp mcp servers remove <id or name>`: a name is looked up among the tenant's servers (`add`
 * takes a name too), an id too, so that either way the answer names both: `removed <name> (<id>)`.
 */
export async function runMcpServersRemove(client: OpenMcpClient, idOrName: string, out: Writer = stdout): Promise<number> {
  try {
    const byId = isUuid(idOrName);
    // An id in any case, as the API takes it (it lists them in lower case).
    const listed = (await client.mcpServers.list()).find((s) => (byId ? s.id === idOrName.toLowerCase() : s.name === idOrName));
    // A name not listed: the API would answer a bare "not found", read as a typo when it was removed already.
    if (!byId && !listed) throw new OpenMcpError('NOT_FOUND', `no MCP server named ${printable(idOrName)} for your tenant (removed ones are not listed: openmcp mcp servers list shows the others)`, { status: 404 });
    // An id not listed is asked all the same: the API names it removed already (409) or unknown (404).
    const id = listed?.id ?? idOrName;
    await client.mcpServers.remove(id);
    out(listed ? `removed ${printable(listed.name)} (${id})` : `removed ${id}`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}

/** `openmcp mcp tools search <query…> [-k N] [--json]`: the best tools for a task, as search_tools finds them. */
export async function runToolsSearch(client: OpenMcpClient, query: string, o: { k?: number; json?: boolean } = {}, out: Writer = stdout): Promise<number> {
  try {
    const items = await client.tools.search(query, o.k);
    if (o.json) {
      for (const t of items) out(printableJson(t));
      return 0;
    }
    // An empty table said nothing: not whether the words matched nothing or no server is there.
    if (items.length === 0) return out(`no tool matches "${query}" (openmcp mcp servers list shows the servers registered for your tenant)`), 0;
    // `name` is what a client calls: `<server>__<tool>`, or its host-safe alias when LLM hosts would
    // refuse that (docs/architecture.md). An alias does not say which upstream tool it stands for.
    const upstreamName = (t: (typeof items)[number]) => (t.tool !== undefined && t.name !== `${t.server}__${t.tool}` ? t.tool : '');
    const table = cliTable({ head: ['call as', 'server', 'upstream name (if aliased)', 'score', 'description'], colWidths: [null, null, 28, null, 50], wordWrap: true });
    // The upstream's own tool name is its author's text (any characters), as its description is.
    for (const t of items) table.push([t.name, t.server, printable(upstreamName(t)), t.score.toFixed(3), printable(t.description ?? '')]);
    out(table.toString());
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}
