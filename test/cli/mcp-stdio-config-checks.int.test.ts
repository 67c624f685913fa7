import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { openStores } from '../../src/app/open-stores';
import { runMcpStdio } from '../../src/cli/mcp-stdio';
import { loadConfig } from '../../src/config';

/**
 * `openmcp mcp stdio` refuses a bad MCP_SERVERS_FILE or EMBEDDING_MODEL_DIR before it opens the
 * database, as `openmcp start` does: an MCP host's misconfigured launch leaves nothing behind.
 * It created and migrated DATA_DIR's database and stored OPENMCP_ADMIN_KEY first (the model was
 * loaded once the gateway was built, the servers file read once it answered).
 */
describe('openmcp mcp stdio: a bad MCP_SERVERS_FILE or EMBEDDING_MODEL_DIR is refused before anything is made', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'omc-stdio-checks-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The settings each case gets wrong, with the variable its refusal must name. */
  function badSettings(): [string, Record<string, string>, string][] {
    const servers = join(dir, 'servers.json');
    writeFileSync(servers, JSON.stringify({ mcpServers: { files: { command: 'node', arg: ['server.js'] } } }));
    const models = join(dir, 'models');
    mkdirSync(models);
    return [
      ['MCP_SERVERS_FILE with a key the gateway does not read', { MCP_SERVERS_FILE: servers }, 'MCP_SERVERS_FILE'],
      ['EMBEDDING_MODEL_DIR without the model', { EMBEDDING_MODEL_DIR: models }, 'EMBEDDING_MODEL_DIR'],
    ];
  }

  /** Runs mcp stdio with these settings and a host that sends nothing; what it threw. */
  async function run(env: Record<string, string>, data: string): Promise<unknown> {
    const config = loadConfig({ DATA_DIR: data, OPENMCP_ADMIN_KEY: 'local-stdio-admin-key-0123456789', LOG_LEVEL: 'error', OPENMCP_EXAMPLES: 'off', MCP_HEALTH_INTERVAL_MS: '0', ...env });
    const stdin = new PassThrough();
    stdin.end();
    return runMcpStdio(config, 'omc_not_looked_up', { stdin, stdout: new PassThrough() }).then(
      () => expect.fail('mcp stdio ran'),
      (e: unknown) => e,
    );
  }

  it('a fresh DATA_DIR: CONFIG_INVALID naming the variable, and no database created there', async () => {
    for (const [name, env, variable] of badSettings()) {
      const data = join(dir, `data-${variable}`);
      const err = await run(env, data);
      expect(existsSync(data), `${name}: nothing made`).to.equal(false);
      expect(err, name).to.have.property('code', 'CONFIG_INVALID');
      expect((err as Error).message, name).to.include(variable);
    }
  });

  it('a database without the admin key: CONFIG_INVALID, and OPENMCP_ADMIN_KEY not stored in it', async () => {
    for (const [name, env, variable] of badSettings()) {
      const data = join(dir, `db-${variable}`);
      const stores = await openStores(loadConfig({ DATA_DIR: data, LOG_LEVEL: 'error' }));
      await stores.close();
      const err = await run(env, data);
      const after = await openStores(loadConfig({ DATA_DIR: data, LOG_LEVEL: 'error' }));
      try {
        expect(await after.knex('api_keys').select('id'), `${name}: no key stored`).to.deep.equal([]);
      } finally {
        await after.close();
      }
      expect(err, name).to.have.property('code', 'CONFIG_INVALID');
    }
  });
});
