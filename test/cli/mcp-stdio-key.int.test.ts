import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStores } from '../../src/app/open-stores';
import { generateApiKey } from '../../src/auth/api-key';
import { createAuthenticator } from '../../src/auth/authenticator';
import { ensureAdminKey } from '../../src/auth/ensure-admin-key';
import { SqlKeyStore } from '../../src/auth/sql-key-store';
import { runMcpStdio } from '../../src/cli/mcp-stdio';
import { loadConfig } from '../../src/config';
import { StreamClientTransport } from '../mcp/support/stream-client-transport';

/**
 * `openmcp mcp stdio` acts as the key it is given, for an MCP host: it takes no admin key by
 * default, and, like /mcp, only a key whose role may call tools (mcp:call).
 */
describe('openmcp mcp stdio: the key it acts as', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'omc-stdio-key-'));
  const config = loadConfig({ DATA_DIR: dir, OPENMCP_ADMIN_KEY: 'local-stdio-admin-key-0123456789', LOG_LEVEL: 'error' });
  const viewer = generateApiKey();
  const agent = generateApiKey();
  const AGENT_ID = '01900000-0000-7000-8000-00000000000b';

  before(async () => {
    const stores = await openStores(config);
    try {
      const keys = new SqlKeyStore(stores.knex);
      const common = { tenant: 'acme', crossTenant: false, createdAt: new Date().toISOString(), createdBy: 'test' };
      await keys.insert({ ...common, id: '01900000-0000-7000-8000-00000000000a', role: 'viewer', prefix: viewer.prefix, hash: viewer.hash });
      await keys.insert({ ...common, id: AGENT_ID, role: 'agent', prefix: agent.prefix, hash: agent.hash });
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

  it('stops serving once its key is revoked (as /mcp refuses it): no tools/list, no tools/call, nothing forwarded or audited', async () => {
    const transport = new StreamClientTransport();
    const running = runMcpStdio(config, agent.key, { stdin: transport.serverStdin, stdout: transport.serverStdout, keyRecheckMs: 0 });
    const client = new Client({ name: 'stdio-revoked', version: '1.0.0' });
    await client.connect(transport);
    try {
      // The call first: on this first start it waits for examples' registration, which a listing
      // waits for only briefly (LISTING_HOLD_MS); then the listing has its tools.
      expect((await client.callTool({ name: 'examples__echo', arguments: { text: 'before' } })).isError).to.not.equal(true);
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).to.include('examples__echo');
      // Revoked by another process (`openmcp keys revoke`, DELETE /v1/keys/:id), while the host keeps this one running.
      const stores = await openStores(config);
      try {
        expect(await new SqlKeyStore(stores.knex).revoke(AGENT_ID, new Date().toISOString())).to.equal(true);
      } finally {
        await stores.close();
      }
      for (const refused of [client.listTools(), client.callTool({ name: 'examples__echo', arguments: { text: 'after revocation' } })]) {
        const err = await refused.then(() => undefined, (e: unknown) => e);
        expect(err).to.be.instanceOf(McpError);
        expect((err as McpError).data).to.deep.equal({ code: 'UNAUTHENTICATED' });
        expect((err as McpError).message).to.include('revoked');
      }
    } finally {
      await client.close();
      await running;
    }
    const stores = await openStores(config);
    try {
      const calls = (await stores.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested').map((e) => e.data.argumentsJson);
      expect(calls).to.deep.equal(['{"text":"before"}']);
    } finally {
      await stores.close();
    }
  });

  it("refuses a key this database does not hold naming the database, since it checks keys there, not at OPENMCP_URL's gateway", async () => {
    // As a builder runs it from the directory of their MCP client: DATA_DIR defaults to ./data there, a fresh database.
    const elsewhere = mkdtempSync(join(tmpdir(), 'omc-stdio-elsewhere-'));
    try {
      const err = (await runMcpStdio(loadConfig({ LOG_LEVEL: 'error' }, elsewhere), agent.key).then(() => null, (e: unknown) => e)) as { code?: string; message?: string } | null;
      expect(err?.code).to.equal('UNAUTHENTICATED');
      expect(err?.message).to.include('API key not valid').and.include(`sqlite:${join(elsewhere, 'data', 'openmcp.db')}`).and.include('DATA_DIR').and.include('not through OPENMCP_URL');
      // No key of a fresh database can be valid (no OPENMCP_ADMIN_KEY, no JWT settings): refused
      // before making one, so the host's directory is not left with a migrated ./data/openmcp.db.
      expect(err?.message).to.include('no database there');
      expect(existsSync(join(elsewhere, 'data')), "a database made in the host's directory").to.equal(false);
      const viaUrl = (await runMcpStdio(loadConfig({ DATABASE_URL: 'mysql://app:s3cret-pw@127.0.0.1:1/openmcp', LOG_LEVEL: 'error' }, elsewhere), agent.key).then(() => null, (e: unknown) => e)) as { message?: string } | null;
      expect(viaUrl?.message, 'an unreachable database is not a refused key').to.not.include('API key not valid');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('refuses a key whose role may not call tools (FORBIDDEN), as /mcp does', async () => {
    const err = (await runMcpStdio(config, viewer.key).then(() => null, (e: unknown) => e)) as { code?: string; message?: string } | null;
    expect(err?.code).to.equal('FORBIDDEN');
    expect(err?.message).to.include('viewer').and.include('mcp:call');
  });

  it("leaves the gateway's bootstrap admin key alone: an MCP host's environment neither replaces it nor writes DATA_DIR/admin.key", async () => {
    // The gateway was started with OPENMCP_ADMIN_KEY in its own environment (a service unit, a
    // secret store); the MCP host that starts `mcp stdio` with an agent key has another one, or none.
    const host = generateApiKey();
    const stores = await openStores(config);
    try {
      const keys = new SqlKeyStore(stores.knex);
      await ensureAdminKey(config, keys);
      await keys.insert({ id: '01900000-0000-7000-8000-00000000000c', tenant: 'acme', role: 'agent', crossTenant: false, prefix: host.prefix, hash: host.hash, createdAt: new Date().toISOString(), createdBy: 'test' });
    } finally {
      await stores.close();
    }
    for (const env of [{ DATA_DIR: dir, LOG_LEVEL: 'error' }, { DATA_DIR: dir, LOG_LEVEL: 'error', OPENMCP_ADMIN_KEY: 'another-hosts-admin-key-9876543210' }]) {
      const transport = new StreamClientTransport();
      const running = runMcpStdio(loadConfig(env), host.key, { stdin: transport.serverStdin, stdout: transport.serverStdout });
      const client = new Client({ name: 'stdio-host', version: '1.0.0' });
      await client.connect(transport);
      try {
        expect((await client.listTools()).tools.length).to.be.greaterThan(0);
      } finally {
        await client.close();
        await running;
      }
      expect(existsSync(join(dir, 'admin.key')), 'DATA_DIR/admin.key').to.equal(false);
      const check = await openStores(config);
      try {
        const p = await createAuthenticator({ keys: new SqlKeyStore(check.knex), cacheTtlMs: 0 }).authenticate(`Bearer ${config.OPENMCP_ADMIN_KEY}`);
        expect(p).to.include({ role: 'admin', crossTenant: true });
      } finally {
        await check.close();
      }
    }
  });

  it('stops serving once the bootstrap admin key it acts as is rotated (its only way of being revoked)', async () => {
    const transport = new StreamClientTransport();
    const running = runMcpStdio(config, config.OPENMCP_ADMIN_KEY, { stdin: transport.serverStdin, stdout: transport.serverStdout, keyRecheckMs: 0 });
    const client = new Client({ name: 'stdio-rotated', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).to.include('examples__echo');
      // The gateway restarts with a new OPENMCP_ADMIN_KEY: the old one must stop working everywhere.
      const stores = await openStores(config);
      try {
        await ensureAdminKey({ ...config, OPENMCP_ADMIN_KEY: 'rotated-admin-key-after-a-leak-0123456789' }, new SqlKeyStore(stores.knex));
      } finally {
        await stores.close();
      }
      const err = await client.listTools().then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(McpError);
      expect((err as McpError).data).to.deep.equal({ code: 'UNAUTHENTICATED' });
    } finally {
      await client.close();
      await running;
    }
  });
});
