import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { ROLES } from '../auth/roles';
import { CONNECT_TIMEOUT_BOUNDS } from '../../events/mcp-bounds';

/**
 * The commands that talk to a running gateway through the SDK (`OPENMCP_URL`, default
 * http://HOST:PORT; key from OPENMCP_API_KEY, OPENMCP_ADMIN_KEY or DATA_DIR/admin.key).
 */
// The SDK is loaded when a client command runs: `mcp stdio`, `start` and `--version` build these
// commands too, and an MCP host waits on every module loaded before `initialize` is answered.
const client = () => (require('../sdk') as typeof import('../sdk')).clientFromEnvironment({ config: (require('../config') as typeof import('../config')).loadConfig() });
// No default list: commander would print "(default: [])" in the help.
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A parser for an option that takes a whole number ≥ 1 (commander prints the message and exits 2 otherwise, main.ts unusableCommandLine). */
function positiveInt(option: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${option} takes a whole number ≥ 1`);
    return n;
  };
}

/** A parser for an option that takes a whole number from `min` to `max` (exits 2 naming the option and the bounds otherwise). */
function intWithin(option: string, min: number, max: number, unit: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${option} takes a whole number from ${min} to ${max} (${unit})`);
    return n;
  };
}

/** A parser for a log position option: a whole number ≥ -1 (-1 = before the first event). */
function position(option: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < -1) throw new InvalidArgumentError(`${option} takes a log position (a whole number ≥ -1)`);
    return n;
  };
}

/** A batch id argument: 0, 1, 2, … (commander prints the message and exits 2 otherwise, main.ts unusableCommandLine). */
export function batchId(value: string): number {
  if (!/^(0|[1-9][0-9]{0,14})$/.test(value)) throw new InvalidArgumentError('a batch id is a whole number ≥ 0 (openmcp batches list, GET /v1/batches, lists them)');
  return Number(value);
}

/** Said under each client command's --help: a gateway started on another port or DATA_DIR is not found otherwise. */
export const CLIENT_SETTINGS_HELP =
  '\nThe gateway is reached at OPENMCP_URL (default http://HOST:PORT, as `openmcp start` reads them), with the key in\nOPENMCP_API_KEY, else OPENMCP_ADMIN_KEY, else DATA_DIR/admin.key.';

/** Add the note to `command` and every command under it, except those that never reach a gateway. */
function noteClientSettings(command: Command, except: string[] = []): void {
  if (except.includes(command.name())) return;
  command.addHelpText('after', CLIENT_SETTINGS_HELP);
  for (const c of command.commands) noteClientSettings(c, except);
}

export function addClientCommands(program: Command): void {
  const toolCalls = program.command('tool-calls').description("the gateway's tool calls (through the REST API)");
  toolCalls
    .command('list')
    .description('list tool calls, newest first')
    .option('--server <name>', 'only calls to this server')
    .option('--tool <name>', "only calls of this tool: its own name (echo), or <server>__<tool> as /mcp shows it (examples__echo)")
    .option('--status <status>', 'requested | completed | failed')
    .option('--task <id>', "only this task's calls")
    .option('--from <iso>', 'requested at or after')
    .option('--to <iso>', 'requested at or before')
    .option('--limit <n>', 'page size', positiveInt('--limit'))
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow every page')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { runToolCallsList } = require('./tool-calls') as typeof import('./tool-calls');
      process.exitCode = await runToolCallsList(client(), { ...o, taskId: o.task });
    });
  toolCalls
    .command('show')
    .description('show one tool call with its hashes, and its arguments and result where recorded')
    .argument('<id>', 'tool call id (as tool-calls list shows it)')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const { runToolCallsShow } = require('./tool-calls') as typeof import('./tool-calls');
      process.exitCode = await runToolCallsShow(client(), id, o);
    });

  const tasks = program.command('tasks').description('tasks (through the REST API)');
  tasks
    .command('list')
    .description('list tasks, newest first')
    .option('--status <status>', 'submitted | running | completed | failed | cancelled')
    .option('--agent <id>', 'only this agent')
    .option('--from <iso>', 'created at or after')
    .option('--to <iso>', 'created at or before')
    .option('--limit <n>', 'page size', positiveInt('--limit'))
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow every page')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { runTasksList } = require('./tasks') as typeof import('./tasks');
      process.exitCode = await runTasksList(client(), { ...o, agentId: o.agent });
    });
  tasks
    .command('show')
    .description('show a task with its steps')
    .argument('<id>', 'task id')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const { runTasksShow } = require('./tasks') as typeof import('./tasks');
      process.exitCode = await runTasksShow(client(), id, o);
    });
  tasks
    .command('cancel')
    .description('cancel a task (POST /v1/tasks/:id/cancel); a repeat answers cancelled again')
    .argument('<id>', 'task id')
    .option('--reason <text>', 'why, kept in TaskCancelled')
    .action(async (id: string, o: { reason?: string }) => {
      const { runTasksCancel } = require('./tasks-decide') as typeof import('./tasks-decide');
      process.exitCode = await runTasksCancel(client(), id, o);
    });
  for (const decision of ['approve', 'reject'] as const) {
    tasks
      .command(decision)
      .description(`${decision} a transaction the task waits on (POST /v1/tasks/:id/approvals); tasks show lists the hashes waiting`)
      .argument('<id>', 'task id')
      .requiredOption('--hash <proposalHash>', 'the proposal hash to decide (awaitingApproval in tasks show)')
      .option('--comment <text>', 'kept in the approval event')
      .action(async (id: string, o: { hash: string; comment?: string }) => {
        const { runTasksDecide } = require('./tasks-decide') as typeof import('./tasks-decide');
        process.exitCode = await runTasksDecide(client(), id, { ...o, decision });
      });
  }

  tasks
    .command('answer')
    .description("print a task's final answer; under LLM_REDACTION=hash-only, opened from its sealed answer with the recipient's private key")
    .argument('<id>', 'task id')
    .option('--key <file>', 'file holding the private key of the task\'s answerRecipient (default: the key in OPENMCP_ANSWER_KEY)')
    .option('--json', 'print JSON {id, answer, answerHash, sealed}')
    .action(async (id: string, o: { key?: string; json?: boolean }) => {
      const { runTasksAnswer } = require('./task-answer') as typeof import('./task-answer');
      process.exitCode = await runTasksAnswer(client(), id, { keyFile: o.key, key: process.env.OPENMCP_ANSWER_KEY, json: o.json });
    });
  tasks
    .command('answer-key')
    .description('make a key pair for sealed answers (kept in --key, mode 0600, unless there already) and print its public key, to submit as answerRecipient')
    .requiredOption('--key <file>', 'file for the private key')
    .action((o: { key: string }) => {
      const { runTasksAnswerKey } = require('./task-answer') as typeof import('./task-answer');
      process.exitCode = runTasksAnswerKey({ keyFile: o.key });
    });

  const events = program.command('events').description('the event log (through the REST API)');
  events
    .command('tail')
    .description('print events as they are appended')
    .option('--stream <stream>', 'only this stream')
    .option('--type <type>', 'only this event type')
    .option('--after <position>', 'start after this position', position('--after'))
    .option('--no-follow', 'print what is there and stop')
    .option('--json', 'print JSON lines')
    .action(async (o) => {
      const { runEventsTail } = require('./events') as typeof import('./events');
      process.exitCode = await runEventsTail(client(), o);
    });
  events
    .command('proof')
    .description("fetch an event's proof file as the server wrote it (for openmcp verify); exits 1 with PROOF_PENDING until its batch is anchored")
    .argument('<event-id>', 'event id (as events tail shows it with --json)')
    .option('--out <file>', 'write it to this file (else to stdout)')
    .action(async (id: string, o: { out?: string }) => {
      const { runEventsProof } = require('./events-proof') as typeof import('./events-proof');
      process.exitCode = await runEventsProof(client(), id, o);
    });

  const batches = program.command('batches').description('sealed Merkle batches (through the REST API)');
  batches
    .command('list')
    .description('list the sealed batches, newest first: seqs, root, signer and anchor (the ids for export and verify-batch)')
    .option('--limit <n>', 'page size', positiveInt('--limit'))
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow every page')
    .option('--json', 'print JSON lines, each batch as the server sent it')
    .action(async (o: { limit?: number; cursor?: string; all?: boolean; json?: boolean }) => {
      const { runBatchesList } = require('./batches-list') as typeof import('./batches-list');
      process.exitCode = await runBatchesList(client(), o);
    });
  batches
    .command('export')
    .description("fetch a batch's export, every tenant's events (cross-tenant keys only), as the server wrote it, for openmcp verify-batch")
    .argument('<id>', 'batch id (openmcp batches list, GET /v1/batches, lists them)', batchId)
    .option('--out <file>', 'write it to this file (else to stdout)')
    .action(async (id: number, o: { out?: string }) => {
      const { runBatchesExport } = require('./batches-export') as typeof import('./batches-export');
      process.exitCode = await runBatchesExport(client(), id, o);
    });

  const keys = program.command('keys').description('API keys');
  keys
    .command('create')
    .description('create an API key and print it once')
    .addOption(new Option('--role <role>', 'role of the key').choices([...ROLES]).makeOptionMandatory())
    .requiredOption('--tenant <tenant>', 'tenant of the key')
    .option('--name <name>', 'a label')
    .option('--cross-tenant', 'admin/auditor keys that see every tenant')
    .option('--agent <id>', 'limit the key to this agent id (repeatable): it submits tasks only as the agents given, and acts only on their tasks; without it, any agent', collect)
    .action(async (o: { role: (typeof ROLES)[number]; tenant: string; name?: string; crossTenant?: boolean; agent?: string[] }) => {
      const { runKeysCreate } = require('./keys') as typeof import('./keys');
      const { agent, ...rest } = o;
      process.exitCode = await runKeysCreate(client(), { ...rest, ...(agent ? { agents: agent } : {}) });
    });
  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--tenant <tenant>', 'only this tenant')
    .action(async (o: { tenant?: string }) => {
      const { runKeysList } = require('./keys') as typeof import('./keys');
      process.exitCode = await runKeysList(client(), o);
    });
  keys
    .command('set-agents')
    .description('change the agents a key may act as (submit tasks as, cancel and approve their tasks), at once')
    .argument('<id>', 'key id')
    .option('--agent <id>', 'an agent id of the whole new list (repeatable)', collect)
    .addOption(new Option('--all', 'no limit: any agent of its tenant').conflicts('agent'))
    .action(async (id: string, o: { agent?: string[]; all?: boolean }) => {
      const { runKeysSetAgents } = require('./keys') as typeof import('./keys');
      process.exitCode = await runKeysSetAgents(client(), id, { agents: o.agent, all: o.all });
    });
  keys
    .command('revoke')
    .description('revoke a key')
    .argument('<id>', 'key id')
    .action(async (id: string) => {
      const { runKeysRevoke } = require('./keys') as typeof import('./keys');
      process.exitCode = await runKeysRevoke(client(), id);
    });

  const subjects = program.command('subjects').description('data subjects (MCP_PAYLOAD_POLICY=encrypted)');
  subjects
    .command('erase')
    .description("delete a subject's data key: its encrypted tool-call payloads can no longer be read; events and proofs stay valid")
    .argument('<subject>', 'subject id: <tenant>:<user|agent|system>:<actor id>')
    .action(async (subject: string) => {
      const { runSubjectsErase } = require('./subjects') as typeof import('./subjects');
      process.exitCode = await runSubjectsErase(client(), subject);
    });
  subjects
    .command('show')
    .description("a subject's data keys: when each was made and erased, and the event recording the erasure (for its proof)")
    .argument('<subject>', 'subject id: <tenant>:<user|agent|system>:<actor id>')
    .option('--json', 'print JSON')
    .action(async (subject: string, o: { json?: boolean }) => {
      const { runSubjectsShow } = require('./subjects') as typeof import('./subjects');
      process.exitCode = await runSubjectsShow(client(), subject, o);
    });
  subjects
    .command('export')
    .description("what the gateway shows about a subject, as JSON (an access request): its keys, the events about it, its tasks and tool calls opened while its key lives; its events from the server's subject index (GET /v1/subjects/:subject/events), its tasks and tool calls with those pages (include=details: a request per page, not per task and call)")
    .argument('<subject>', 'subject id: <tenant>:<user|agent|system>:<actor id>')
    .option('--out <file>', 'write it to FILE (mode 0600) instead of stdout')
    .action(async (subject: string, o: { out?: string }) => {
      const { runSubjectsExport } = require('./subjects') as typeof import('./subjects');
      process.exitCode = await runSubjectsExport(client(), subject, o);
    });

  for (const group of [toolCalls, tasks, events, batches, keys, subjects]) noteClientSettings(group, ['answer-key', 'help']);
}

/** `openmcp mcp servers …` and `openmcp mcp tools search`, under the `mcp` command (same client settings). */
export function addMcpClientCommands(mcp: Command): void {
  const servers = mcp.command('servers').description('upstream MCP servers (through the REST API)');
  servers
    .command('add')
    .description('register an upstream: its command after -- (stdio; cross-tenant admin keys only), or --url')
    .argument('<name>', 'its tools are offered as <name>__<tool> (or a host-safe alias of it: see mcp tools search)')
    .argument('[command...]', 'stdio: the program and its arguments, after --')
    .option('--url <url>', 'streamable HTTP endpoint (or SSE with --transport sse); its path or query may hold ${env:NAME} (in single quotes)')
    .addOption(new Option('--transport <kind>', 'with --url').choices(['http', 'sse']))
    .option('--env <KEY=VALUE>', "a stdio server's environment variable, its value by reference to the gateway's environment, in single quotes: 'GITHUB_TOKEN=${env:GITHUB_TOKEN}' (repeatable)", collect)
    .option('--header <Name: value>', "a header for an http/sse server, its value by reference to the gateway's environment, in single quotes: 'Authorization: Bearer ${env:TOKEN}' (repeatable; cross-tenant admin keys)", collect)
    .option('--timeout-ms <ms>', "this server's call timeout (default: MCP_CALL_TIMEOUT_MS)", positiveInt('--timeout-ms'))
    .option(
      '--connect-timeout-ms <ms>',
      "how long this server may take to connect: its start, initialize, its first tools/list (default: MCP_CONNECT_TIMEOUT_MS; 1000 to 300000)",
      intWithin('--connect-timeout-ms', CONNECT_TIMEOUT_BOUNDS.min, CONNECT_TIMEOUT_BOUNDS.max, 'ms, 1 s to 5 min'),
    )
    .option('--max-concurrent <n>', "this server's calls in flight (default: MCP_MAX_CONCURRENT)", positiveInt('--max-concurrent'))
    .addHelpText('after', '\nExamples:\n  openmcp mcp servers add files --connect-timeout-ms 120000 -- npx -y @modelcontextprotocol/server-filesystem /srv/docs\n  openmcp mcp servers add github --env \'GITHUB_PERSONAL_ACCESS_TOKEN=${env:GITHUB_TOKEN}\' -- npx -y @modelcontextprotocol/server-github\n  openmcp mcp servers add search --url https://mcp.example.com/mcp --timeout-ms 120000\n  openmcp mcp servers add notion --url https://mcp.notion.com/mcp --header \'Authorization: Bearer ${env:NOTION_TOKEN}\'\n  openmcp mcp servers add hosted --url \'https://mcp.example.com/mcp?api_key=${env:EXAMPLE_KEY}\'')
    .action(async (name: string, command: string[], o: { url?: string; transport?: 'http' | 'sse'; env?: string[]; header?: string[]; timeoutMs?: number; connectTimeoutMs?: number; maxConcurrent?: number }) => {
      const { runMcpServersAdd } = require('./mcp-servers') as typeof import('./mcp-servers');
      process.exitCode = await runMcpServersAdd(client(), name, { command, ...o });
    });
  servers
    .command('list')
    .description("the tenant's upstream servers with health and tool counts")
    .option('--json', 'print JSON lines')
    .action(async (o: { json?: boolean }) => {
      const { runMcpServersList } = require('./mcp-servers') as typeof import('./mcp-servers');
      process.exitCode = await runMcpServersList(client(), o);
    });
  servers
    .command('remove')
    .description('remove an upstream server (its tools leave every replica)')
    .argument('<id or name>', 'server id or name (from list)')
    .action(async (id: string) => {
      const { runMcpServersRemove } = require('./mcp-servers') as typeof import('./mcp-servers');
      process.exitCode = await runMcpServersRemove(client(), id);
    });
  const tools = mcp.command('tools').description('tools of the upstream servers');
  tools
    .command('search')
    .description('find the tools for a task by meaning, as search_tools does (BM25, plus embeddings when EMBEDDING_MODEL_DIR is set)')
    .argument('<query...>', 'what you want to do')
    .option('-k <n>', 'how many (default: 10)', positiveInt('-k'))
    .option('--json', 'print JSON lines')
    .action(async (query: string[], o: { k?: number; json?: boolean }) => {
      const { runToolsSearch } = require('./mcp-servers') as typeof import('./mcp-servers');
      process.exitCode = await runToolsSearch(client(), query.join(' '), o);
    });

  noteClientSettings(servers);
  noteClientSettings(tools);
}
