import { openStores } from '../app/open-stores';
import { createAuthenticator, createJwtVerifier, ensureAdminKey, SqlKeyStore } from '../auth';
import type { Config } from '../config';
import { createLogger } from '../api/logger';
import { createGateway } from '../app/gateway';
import { examplesServer, registerServersFromFile, runGatewayStdio } from '../mcp';

const SYSTEM_ACTOR = { kind: 'system' as const, id: 'openmcp' };

/**
 * `openmcp mcp stdio`: the gateway over stdin/stdout for a local MCP client, acting as the
 * principal of `apiKey` (every call audited in the same log as the server's). Logs go to stderr,
 * because stdout carries the protocol.
 */
export async function runMcpStdio(config: Config, apiKey: string): Promise<void> {
  const logger = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, process.stderr);
  const stores = await openStores(config);
  try {
    const keys = new SqlKeyStore(stores.knex);
    // The same bootstrap admin as `openmcp start`, so a fresh DATA_DIR works with OPENMCP_ADMIN_KEY.
    await ensureAdminKey(config, keys);
    const auth = createAuthenticator({ keys, jwt: createJwtVerifier(config) });
    const principal = await auth.authenticate(`Bearer ${apiKey}`);
    const gateway = await createGateway({ config, store: stores.store, cache: stores.cache, logger });
    await gateway.start();
    try {
      if (config.OPENMCP_EXAMPLES === 'on') await gateway.ensureServer(examplesServer(SYSTEM_ACTOR));
      if (config.MCP_SERVERS_FILE) await registerServersFromFile(gateway, config.MCP_SERVERS_FILE, SYSTEM_ACTOR);
      const session = await runGatewayStdio(gateway, { tenant: principal.tenant, actor: principal.actor });
      await session.closed;
    } finally {
      await gateway.close();
    }
  } finally {
    await stores.close();
  }
}
