import { expect } from 'chai';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { McpGateway } from '../../src/mcp/gateway';
import { startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';

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
    const headers = (key: string, sid?: string) => ({
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      ...(sid ? { 'mcp-session-id': sid } : {}),
    });
    const open = async (key: string) => {
      const init = await fetch(http.url, {
        method: 'POST',
        headers: headers(key),
        body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
      });
      const sid = init.headers.get('mcp-session-id')!;
      await fetch(http.url, { method: 'POST', headers: headers(key, sid), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
      return sid;
    };
    const list = (key: string, sid: string) => fetch(http.url, { method: 'POST', headers: headers(key, sid), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    try {
      const alice = await open('key-acme-alice');
      const alice2 = await open('key-acme-alice');
      const bob = await open('key-acme-bob');
      checked.length = 0;
      await new Promise((r) => setTimeout(r, 350));
      expect(checked.filter((a) => a === 'alice').length, 'one check per identity and sweep, not per session').to.equal(checked.filter((a) => a === 'bob').length);
      const stream = await fetch(http.url, { method: 'GET', headers: { ...headers('key-acme-alice', alice), accept: 'text/event-stream' } });
      expect(stream.status).to.equal(200);
      const reader = stream.body!.getReader();
      const ended = (async () => {
        for (;;) if ((await reader.read()).done) return true;
      })().catch(() => true);
      revoked.add('alice');
      const deadline = Date.now() + 5_000;
      while ((await list('key-acme-alice', alice)).status !== 404) {
        if (Date.now() > deadline) throw new Error("the revoked key's session was not closed");
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await Promise.race([ended, new Promise((r) => setTimeout(() => r('still open'), 3_000))]), 'the GET stream ended').to.equal(true);
      expect((await list('key-acme-alice', alice2)).status, "the key's other session too").to.equal(404);
      expect((await list('key-acme-bob', bob)).status, "another key's session is untouched").to.equal(200);
    } finally {
      await http.app.close();
      await gateway.close();
      await db.cleanup();
    }
  });
});
