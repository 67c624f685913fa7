import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStores } from '../../src/app/open-stores';
import { generateApiKey } from '../../src/auth/api-key';
import { SqlKeyStore } from '../../src/auth/sql-key-store';
import { runMcpStdio } from '../../src/cli/mcp-stdio';
import { loadConfig } from '../../src/config';

/**
 * `openmcp mcp stdio` acts as the key it is given, for an MCP host: it takes no admin key by
 * default, and, like /mcp, only a key whose role may call tools (mcp:call).
 */
describe('openmcp mcp stdio: the key it acts as', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'omc-stdio-key-'));
  const config = loadConfig({ DATA_DIR: dir, OPENMCP_ADMIN_KEY: 'local-stdio-admin-key-0123456789', LOG_LEVEL: 'error' });
  const viewer = generateApiKey();

  before(async () => {
    const stores = await openStores(config);
    try {
      await new SqlKeyStore(stores.knex).insert({
        id: '01900000-0000-7000-8000-00000000000a',
        tenant: 'acme',
        role: 'viewer',
        crossTenant: false,
        prefix: viewer.prefix,
        hash: viewer.hash,
        createdAt: new Date().toISOString(),
        createdBy: 'test',
      });
    } finally {
      await stores.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('without --key or OPENMCP_API_KEY, says why it does not take the admin key and how to make one', async () => {
    const err = (await runMcpStdio(config, undefined).then(() => null, (e: unknown) => e)) as { code?: string; message?: string } | null;
    expect(err?.code).to.equal('VALIDATION_FAILED');
    expect(err?.message).to.include('--key').and.include('OPENMCP_API_KEY').and.include('admin.key').and.include('openmcp keys create --role agent');
  });

  it('refuses a key whose role may not call tools (FORBIDDEN), as /mcp does', async () => {
    const err = (await runMcpStdio(config, viewer.key).then(() => null, (e: unknown) => e)) as { code?: string; message?: string } | null;
    expect(err?.code).to.equal('FORBIDDEN');
    expect(err?.message).to.include('viewer').and.include('mcp:call');
  });
});
