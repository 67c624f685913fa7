import type { Command } from 'commander';
import { Option } from 'commander';
import { loadConfig } from '../config';
import { clientFromEnvironment } from '../sdk';
import { ROLES } from '../auth/roles';

/**
 * The commands that talk to a running gateway through the SDK (`OPENMCP_URL`, default
 * http://HOST:PORT; key from OPENMCP_API_KEY, OPENMCP_ADMIN_KEY or DATA_DIR/admin.key).
 */
export function addClientCommands(program: Command): void {
  const client = () => clientFromEnvironment({ config: loadConfig() });

  const tasks = program.command('tasks').description('tasks (through the REST API)');
  tasks
    .command('list')
    .description('list tasks, newest first')
    .option('--status <status>', 'submitted | running | completed | failed | cancelled')
    .option('--agent <id>', 'only this agent')
    .option('--from <iso>', 'created at or after')
    .option('--to <iso>', 'created at or before')
    .option('--limit <n>', 'page size', (v) => Number(v))
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

  const events = program.command('events').description('the event log (through the REST API)');
  events
    .command('tail')
    .description('print events as they are appended')
    .option('--stream <stream>', 'only this stream')
    .option('--type <type>', 'only this event type')
    .option('--after <position>', 'start after this position', (v) => Number(v))
    .option('--no-follow', 'print what is there and stop')
    .option('--json', 'print JSON lines')
    .action(async (o) => {
      const { runEventsTail } = require('./events') as typeof import('./events');
      process.exitCode = await runEventsTail(client(), o);
    });

  const keys = program.command('keys').description('API keys');
  keys
    .command('create')
    .description('create an API key and print it once')
    .addOption(new Option('--role <role>', 'role of the key').choices([...ROLES]).makeOptionMandatory())
    .requiredOption('--tenant <tenant>', 'tenant of the key')
    .option('--name <name>', 'a label')
    .option('--cross-tenant', 'admin/auditor keys that see every tenant')
    .action(async (o: { role: (typeof ROLES)[number]; tenant: string; name?: string; crossTenant?: boolean }) => {
      const { runKeysCreate } = require('./keys') as typeof import('./keys');
      process.exitCode = await runKeysCreate(client(), o);
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
    .command('revoke')
    .description('revoke a key')
    .argument('<id>', 'key id')
    .action(async (id: string) => {
      const { runKeysRevoke } = require('./keys') as typeof import('./keys');
      process.exitCode = await runKeysRevoke(client(), id);
    });
}
