import { join } from 'node:path';
import type { Actor } from '../core/envelope';
import { SHARED_TENANT, type RegisterServerParameters } from './types';

/** Repo path of the bundled stdio example (TypeScript, run through tsx's CommonJS hook). */
export const EXAMPLES_STDIO_SERVER = join(__dirname, '..', '..', 'examples', 'mcp-stdio', 'server.ts');

/**
 * Registration of the bundled example server as `examples` (echo, add, reverse, now), shared by
 * every tenant. Pass it to `gateway.ensureServer` at start unless OPENMCP_EXAMPLES=off.
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
