import { join } from 'node:path';
import type { Actor } from '../core/envelope';
import { EXAMPLES_SOURCE } from './config-source';
import type { McpGateway } from './gateway';
import { SHARED_TENANT, type RegisterServerParameters } from './types';

/** Repo path of the bundled stdio example (TypeScript, run through tsx's CommonJS hook). */
export const EXAMPLES_STDIO_SERVER = join(__dirname, '..', '..', 'examples', 'mcp-stdio', 'server.ts');

/**
 * Registration of the bundled example server as `examples` (echo, add, reverse, now), shared by
 * every tenant. registerExamples registers it at start as OPENMCP_EXAMPLES says.
 */
export function examplesServer(actor: Actor = { kind: 'system', id: 'openmcp' }, opts: { testTools?: boolean; name?: string; tenant?: string } = {}): RegisterServerParameters {
  return {
    tenant: opts.tenant ?? SHARED_TENANT,
    actor,
    name: opts.name ?? 'examples',
    transport: 'stdio',
    command: process.execPath,
    args: ['--require', require.resolve('tsx/cjs'), EXAMPLES_STDIO_SERVER],
    env: opts.testTools ? { MCP_EXAMPLE_TEST_TOOLS: 'on' } : undefined,
  };
}

/**
 * Register `examples` at start as OPENMCP_EXAMPLES says. Unset (the default): unless an admin
 * removed it from this log (ensureDefaultServer), so that a removal sticks for every process,
 * including an `openmcp mcp stdio` whose MCP host sets none of the server's settings. `on`: at
 * every start, like an MCP_SERVERS_FILE entry, and this process refuses its removal while set
 * (EXAMPLES_SOURCE): the way to have it back. `off`: never. Requires `gateway.start()` first.
 */
export async function registerExamples(gateway: McpGateway, setting: 'on' | 'off' | undefined, actor: Actor, logger?: { info(msg: string): void }): Promise<void> {
  if (setting === 'off') return;
  if (setting === 'on') {
    await gateway.ensureServer(examplesServer(actor), EXAMPLES_SOURCE);
    return;
  }
  const registered = await gateway.ensureDefaultServer(examplesServer(actor));
  if (!registered) logger?.info('MCP server examples not registered: an admin removed it (set OPENMCP_EXAMPLES=on to have it back)');
}
