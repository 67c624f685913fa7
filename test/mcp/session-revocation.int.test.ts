import { expect } from 'chai';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { createAuthenticator, mcpAuthenticate } from '../../src/auth/authenticator';
import { isCredentialRevoked } from '../../src/auth/credential-revoked';
import { ensureAdminKey } from '../../src/auth/ensure-admin-key';
import { MemoryKeyStore } from '../../src/auth/memory-key-store';
import { McpGateway } from '../../src/mcp/gateway';
import { startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

/** Raw /mcp requests with a bearer key, as a client sends them. */
function rawClient(url: string) {
  const headers = (key: string, sid?: string) => ({
    authorization: `Bearer ${key}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    ...(sid ? { 'mcp-session-id': sid } : {}),
  });
  return {
    /** A new session with `key`: initialize, then initialized. */
    async open(key: string): Promise<string> {
      const init = await fetch(url, {
        method: 'POST',
        headers: headers(key),
        body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
      });
      expect(init.status, await init.clone().text()).to.equal(200);
      const sid = init.headers.get('mcp-session-id')!;
      await fetch(url, { method: 'POST', headers: headers(key, sid), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
      return sid;
    },
    list: (key: string, sid: string) => fetch(url, { method: 'POST', headers: headers(key, sid), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) }),
    /** The session's GET stream, open; `ended` settles true when the server ends it. */
    async stream(key: string, sid: string): Promise<{ ended: Promise<boolean> }> {
      const res = await fetch(url, { method: 'GET', headers: { ...headers(key, sid), accept: 'text/event-stream' } });
      expect(res.status).to.equal(200);
      const reader = res.body!.getReader();
      const ended = (async () => {
        for (;;) if ((await reader.read()).done) return true;
      })().catch(() => true);
      return { ended };
    },
  };
}

const stillOpen = (ms: number) => new Promise((r) => setTimeout(() => r('still open'), ms));

/**
 * Every /mcp request is authenticated, so a revoked key's POSTs get 401 at once; but an open GET
 * (SSE) stream makes no further request. The plugin checks open sessions and ends a revoked key's.
 */
describe('/mcp: sessions of a revoked key end, open streams included', function () {
  this.timeout(30_000);

  it("closes a revoked key's session and its GET stream within the check interval; other sessions stay", async () => {
    const db = await openTempSqliteStore();
    const gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    const revoked = new Set<string>();
    const checked: string[] = [];
    const http = await startGatewayHttp(gateway, {
      isRevoked: async (p) => {
        checked.push(p.actor.id);
        return revoked.has(p.actor.id);
      },
      revocationCheckMs: 100,
    });
    const c = rawClient(http.url);
    try {
      const alice = await c.open('key-acme-alice');
      const alice2 = await c.open('key-acme-alice');
      const bob = await c.open('key-acme-bob');
      checked.length = 0;
      await new Promise((r) => setTimeout(r, 350));
      expect(checked.filter((a) => a === 'alice').length, 'one check per identity and sweep, not per session').to.equal(checked.filter((a) => a === 'bob').length);
      const { ended } = await c.stream('key-acme-alice', alice);
      revoked.add('alice');
      await until("the revoked key's session closed", async () => (await c.list('key-acme-alice', alice)).status === 404, 5_000);
      expect(await Promise.race([ended, stillOpen(3_000)]), 'the GET stream ended').to.equal(true);
      expect((await c.list('key-acme-alice', alice2)).status, "the key's other session too").to.equal(404);
      expect((await c.list('key-acme-bob', bob)).status, "another key's session is untouched").to.equal(200);
    } finally {
      await http.app.close();
      await gateway.close();
      await db.cleanup();
    }
  });

  it('ends what was opened with the bootstrap admin key once its value is replaced (OPENMCP_ADMIN_KEY changed, another replica restarted): GET stream ended, 401; the new value carries on', async () => {
    const db = await openTempSqliteStore();
    const gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    // The real key store, authenticator and check that main.ts wires; the store is what the replicas share.
    const keys = new MemoryKeyStore();
    const oldKey = 'first-bootstrap-admin-key-7Kq2vX9pLm4R';
    const newKey = 'second-bootstrap-admin-key-Zt8wN3cY6hJd';
    await ensureAdminKey({ OPENMCP_ADMIN_KEY: oldKey, dataDir: db.dir }, keys);
    let checks = 0;
    const http = await startGatewayHttp(gateway, {
      authenticate: mcpAuthenticate(createAuthenticator({ keys, cacheTtlMs: 0 })),
      isRevoked: (p) => (checks++, isCredentialRevoked(keys, p)),
      revocationCheckMs: 100,
    });
    const c = rawClient(http.url);
    try {
      const old = await c.open(oldKey);
      const { ended } = await c.stream(oldKey, old);
      await until('a check ran', () => checks > 0, 5_000);
      // Another replica starts with the new value: the bootstrap row (same id) is replaced.
      await ensureAdminKey({ OPENMCP_ADMIN_KEY: newKey, dataDir: db.dir }, keys);
      const fresh = await c.open(newKey);
      const seen = checks;
      expect(await Promise.race([ended, stillOpen(3_000)]), "the old value's GET stream ended").to.equal(true);
      expect((await c.list(oldKey, old)).status, 'the old value is refused').to.equal(401);
      expect((await c.list(newKey, old)).status, 'its session ended').to.equal(404);
      await until('two more checks ran', () => checks >= seen + 2, 5_000);
      expect((await c.list(newKey, fresh)).status, "the new value's session stays").to.equal(200);
    } finally {
      await http.app.close();
      await gateway.close();
      await db.cleanup();
    }
  });
});
