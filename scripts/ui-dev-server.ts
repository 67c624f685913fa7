/**
 * `npx tsx scripts/ui-dev-server.ts`: `openmcp start` plus the dashboard at /ui, for working on
 * the UI (and for test/ui while src/main.ts does not register the plugin). It builds the gateway
 * exactly as start does, then registers the UI plugin unless main.ts already did.
 * Same environment variables as `openmcp start`.
 */
import { createAuthenticator, SqlKeyStore } from '../src/auth';
import { MemoryCache } from '../src/cache/memory';
import { loadConfig } from '../src/config';
import { startOpenMcp } from '../src/main';
import { SqlReadModels } from '../src/readmodels/sql-read-models';
import { uiPlugin } from '../src/ui';

async function main() {
  const config = loadConfig();
  const omc = await startOpenMcp(config, { listen: false });
  if (!omc.app.hasRoute({ method: 'GET', url: '/ui' })) {
    await omc.app.register(uiPlugin, {
      store: omc.store,
      readModels: new SqlReadModels({ knex: omc.knex, cache: new MemoryCache() }),
      authenticate: createAuthenticator({ keys: new SqlKeyStore(omc.knex) }).authenticate,
      chainRpcUrl: omc.pipeline.rpcUrl,
      anchorContract: omc.pipeline.contractAddress,
      upstreams: () => omc.gateway.status().upstreams,
    });
    console.log('ui-dev-server: registered the UI plugin (src/main.ts does not)');
  }
  const url = await omc.app.listen({ host: config.HOST, port: config.PORT });
  console.log(`OpenMCP-Chain listening on ${url} (dashboard: ${url}/ui)`);
  console.log(`AuditAnchor ${omc.pipeline.contractAddress} on ${omc.pipeline.rpcUrl}`);
  const stop = async () => {
    await omc.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
