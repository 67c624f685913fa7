import { cliTable } from './table';
import { printable, printableJson } from './printable';
import type { OpenMcpClient, TaskListQuery } from '../sdk/client';
import { OpenMcpError } from '../core/errors';
import { UnauthenticatedApiError } from '../sdk/errors';
import { UsageError } from './usage-error';

export type Writer = (line: string) => void;
/** The default writer of every client command: its output, on stdout. */
export const stdout: Writer = (l) => console.log(l);
const stderr: Writer = (l) => console.error(l);

/**
 * Print an error the way every command does, and return exit code 1. A command writing to
 * stdout has its errors on stderr: `openmcp tasks list --json | jq` shows the error, not jq's
 * failure to parse it. A writer given instead (a test, an embedding program) takes both.
 * `hint`, a line in parentheses, says what the command's user can do about it.
 */
export function reportCliError(err: unknown, to: Writer, hint?: string): number {
  // A command line the command cannot run: exit 2 with the command's help, as the parser's refusals (src/cli/main.ts).
  if (err instanceof UsageError) throw err;
  const out = to === stdout ? stderr : to;
  if (err instanceof OpenMcpError) out(`error ${err.code}: ${err.message}`);
  else out(`error: ${(err as Error)?.message ?? String(err)}`);
  if (err instanceof OpenMcpError && err.code === 'SDK_CONNECTION_FAILED') {
    out('(the CLI talks to OPENMCP_URL, else to HOST:PORT of the same settings as `openmcp start`: set OPENMCP_URL to the gateway, e.g. http://127.0.0.1:18080)');
  }
  if (err instanceof UnauthenticatedApiError && err.keySource) {
    out(`(the key sent came from ${err.keySource}; the CLI takes OPENMCP_API_KEY, else OPENMCP_ADMIN_KEY, else DATA_DIR/admin.key: set OPENMCP_API_KEY to a key of this gateway)`);
  }
  if (hint) out(hint);
  return 1;
}

export type TasksListOptions = Pick<TaskListQuery, 'status' | 'agentId' | 'from' | 'to' | 'limit' | 'cursor'> & {
  /** Follow every page instead of one. */
  all?: boolean;
  json?: boolean;
};

/**
 * `openmcp tasks list [--status S] [--agent A] [--from T] [--to T] [--limit N] [--all] [--json]`:
 * a table for people, JSON lines for scripts. Returns the exit code.
 */
export async function runTasksList(client: OpenMcpClient, o: TasksListOptions = {}, out: Writer = stdout): Promise<number> {
  try {
    const query = { status: o.status, agentId: o.agentId, from: o.from, to: o.to, limit: o.limit, cursor: o.cursor };
    const items = [];
    let next: string | undefined;
    if (o.all) {
      for await (const t of client.tasks.all(query)) items.push(t);
    } else {
      const page = await client.tasks.list(query);
      items.push(...page.items);
      next = page.nextCursor;
    }
    if (o.json) {
      for (const t of items) out(printableJson(t));
      return 0;
    }
    const table = cliTable({ head: ['id', 'status', 'agent', 'steps', 'created'] });
    for (const t of items) table.push([t.id, t.status, t.agentId ?? '', String(t.steps.length), t.createdAt]);
    out(table.toString());
    out(`${items.length} task(s)${next ? `; more with --cursor ${next}` : ''}`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}

/** `openmcp tasks show <id> [--json]`: the task, its steps as a table, and its output or error. */
export async function runTasksShow(client: OpenMcpClient, id: string, o: { json?: boolean } = {}, out: Writer = stdout): Promise<number> {
  try {
    const t = await client.tasks.get(id);
    if (o.json) {
      out(printableJson(t, 2));
      return 0;
    }
    out(`task ${t.id}  ${t.status}  (tenant ${t.tenant}${t.agentId ? `, agent ${t.agentId}` : ''})`);
    out(`created ${t.createdAt}  updated ${t.updatedAt}`);
    if (t.instruction) out(`instruction: ${printable(t.instruction)}`);
    else if (t.instructionErased) out(`instruction: erased (recorded encrypted; the submitter's key was deleted): only its hash ${t.instructionHash ?? ''}`.trimEnd());
    if (t.steps.length) {
      const table = cliTable({ head: ['#', 'tool', 'status', 'latency ms', 'error'] });
      for (const s of t.steps) table.push([String(s.index), printable(s.tool), s.status, s.latencyMs === undefined ? '' : String(s.latencyMs), s.error ? printable(`${s.error.code}: ${s.error.message}`) : '']);
      out(table.toString());
    }
    if (t.output !== undefined) out(`output: ${printableJson(t.output)}`);
    if (t.outputHash) out(`output hash: ${t.outputHash}`);
    if (t.error) out(`error ${t.error.code}: ${printable(t.error.message)}`);
    for (const a of t.awaitingApproval ?? []) {
      const step = a.stepIndex === undefined ? a.stepId : `${a.stepIndex}${a.tool ? ` (${a.tool})` : ''}`;
      const count = a.approvals ? `, ${a.approvals.given} of ${a.approvals.required} approvals${a.approvals.selfApproval ? '' : ', not the submitter'}` : '';
      out(printable(`waiting for approval since ${a.requestedAt}: step ${step}, rule ${a.rule}${a.reason ? `: ${a.reason}` : ''}${count}`));
      out(`  openmcp tasks approve ${t.id} --hash ${a.proposalHash}   (or tasks reject)`);
    }
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}
