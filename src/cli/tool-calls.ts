import type { OpenMcpClient, ToolCallListQuery } from '../sdk/client';
import { errorDigest } from '../sdk/error-digest';
import { payloadNote, payloadState } from '../sdk/payload-note';
import { printable, printableJson } from './printable';
import { cliTable } from './table';
import { reportCliError, stdout, type Writer } from './tasks';

export type ToolCallsListOptions = Pick<ToolCallListQuery, 'server' | 'tool' | 'status' | 'taskId' | 'from' | 'to' | 'limit' | 'cursor'> & {
  /** Follow every page instead of one. */
  all?: boolean;
  json?: boolean;
};

/**
 * `openmcp tool-calls list [--server S] [--tool T] [--status S] [--task ID] [--from T] [--to T]
 * [--limit N] [--cursor C] [--all] [--json]`: the tenant's gateway tool calls, newest first; a
 * table for people, JSON lines for scripts. Returns the exit code.
 */
export async function runToolCallsList(client: OpenMcpClient, o: ToolCallsListOptions = {}, out: Writer = stdout): Promise<number> {
  try {
    const query = { server: o.server, tool: o.tool, status: o.status, taskId: o.taskId, from: o.from, to: o.to, limit: o.limit, cursor: o.cursor };
    const items = [];
    let next: string | undefined;
    if (o.all) {
      for await (const c of client.toolCalls.all(query)) items.push(c);
    } else {
      const page = await client.toolCalls.list(query);
      items.push(...page.items);
      next = page.nextCursor;
    }
    if (o.json) {
      for (const c of items) out(printableJson(c));
      return 0;
    }
    // The server and the tool apart, the tool by the upstream's own name (--tool takes that, or
    // the `<server>__<tool>` a client calls, which the gateway splits into the two).
    const table = cliTable({ head: ['id', 'server', 'tool', 'status', 'latency ms', 'requested', 'task', 'error'] });
    for (const c of items) {
      const status = c.isError ? `${c.status} (tool error)` : c.status;
      // The tool's name and the error's text are the upstream's words (as in tasks show).
      table.push([c.id, printable(c.server), printable(c.tool), status, c.latencyMs === undefined ? '' : String(c.latencyMs), c.requestedAt ?? '', c.taskId ?? '', c.error ? printable(`${c.error.code}: ${c.error.message}`) : '']);
    }
    out(table.toString());
    out(`${items.length} tool call(s)${next ? `; more with --cursor ${next}` : ''}`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}

/**
 * `openmcp tool-calls show <id> [--json]`: one tool call with its hashes, and its arguments and
 * result where the gateway recorded them (MCP_PAYLOAD_POLICY=store, or encrypted and not erased). Returns the exit code.
 */
export async function runToolCallsShow(client: OpenMcpClient, id: string, o: { json?: boolean } = {}, out: Writer = stdout): Promise<number> {
  try {
    const c = await client.toolCalls.get(id);
    if (o.json) {
      out(printableJson(c, 2));
      return 0;
    }
    const marks = [c.isError ? 'tool error' : '', c.cached ? 'cached' : ''].filter(Boolean);
    out(`tool call ${c.id}  ${c.status}${marks.length ? ` (${marks.join(', ')})` : ''}  (tenant ${c.tenant}${c.taskId ? `, task ${c.taskId}` : ''})`);
    // The server's and the tool's names are the upstream's or a tenant's words: shown escaped.
    out(`server ${printable(c.server)} (${c.serverId})  tool ${printable(c.tool)}`);
    out(`requested ${c.requestedAt ?? '(not seen)'}${c.completedAt ? `  completed ${c.completedAt}` : ''}${c.latencyMs === undefined ? '' : `  latency ${c.latencyMs} ms`}`);
    // Recorded payloads as JSON, whose escapes (C1 too: printableJson) keep their control characters
    // off the terminal; else why there is none, in the dashboard's words.
    for (const part of ['arguments', 'result'] as const) {
      const hash = c[`${part}Hash`];
      if (hash) out(`${part} hash: ${hash}`);
      // A salted hash (MCP_PAYLOAD_POLICY=encrypted): its scheme and salt check the payload shown against it.
      const scheme = c[`${part}HashScheme`];
      if (scheme) out(`${part} hash scheme: ${scheme}, salt ${c[`${part}Salt`] ?? '(erased)'}`);
      const state = payloadState(c, part);
      out(`${part}: ${state === 'shown' ? printableJson(c[part]) : payloadNote(state, part)}`);
    }
    if (c.error) out(`error ${c.error.code}: ${printable(c.error.message)}`);
    // A withheld message's salted digest (ToolCallFailed v2, its last words): the salt that checks it, as for a payload's hash.
    const digest = errorDigest(c);
    if (digest) out(`error digest scheme: ${digest.scheme}, salt ${digest.salt ?? '(erased)'}`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}
