import { expect } from 'chai';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { McpGateway } from '../../src/mcp/gateway';
import { startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';

/**
 * A JWT cannot be revoked, but it expires; an open GET (SSE) stream makes no further request, so
 * without a check it outlived its token. Tokens here are `tok-<actor>-<expiresAt ms>`, refused once
 * expired, as the real verifier does.
 */
describe('/mcp: a GET stream ends when the token that opened the session expires, unless a newer one renewed it', function () {
  this.timeout(30_000);

  it('ends the stream of an expired, unrenewed token; a refreshed token renews the session and reopens the stream', async () => {
    const db = await openTempSqliteStore();
    const gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    const http = await startGatewayHttp(gateway, {
      revocationCheckMs: 100,
      authenticate: async (request) => {
        const m = /^Bearer tok-(\w+)-(\d+)$/.exec(String(request.headers.authorization));
        if (!m || Number(m[2]) < Date.now()) return null;
        return { tenant: 'acme', actor: { kind: 'user', id: m[1] }, expiresAt: Number(m[2]) };
      },
    });
    const token = (actor: string, ms: number) => `tok-${actor}-${Date.now() + ms}`;
    const headers = (tok: string, sid?: string) => ({
      authorization: `Bearer ${tok}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      ...(sid ? { 'mcp-session-id': sid } : {}),
    });
    const open = async (tok: string) => {
      const init = await fetch(http.url, {
        method: 'POST',
        headers: headers(tok),
        body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
      });
      const sid = init.headers.get('mcp-session-id')!;
      await fetch(http.url, { method: 'POST', headers: headers(tok, sid), body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
      return sid;
    };
    const listen = async (tok: string, sid: string) => {
      const res = await fetch(http.url, { method: 'GET', headers: { ...headers(tok, sid), accept: 'text/event-stream' } });
      expect(res.status).to.equal(200);
      const reader = res.body!.getReader();
      const ended = (async () => {
        for (;;) if ((await reader.read()).done) return true;
      })().catch(() => true);
      return { ended, cancel: () => reader.cancel().catch(() => {}) };
    };
    const within = (p: Promise<unknown>, ms: number) => Promise.race([p, new Promise((r) => setTimeout(() => r('still open'), ms))]);
    try {
      // Alice's token expires in 2 s and nothing renews it: her stream ends. (800 ms was short for
      // the requests before it on a loaded machine: the session could end before they were done.)
      const alice = await open(token('alice', 2_000));
      const aliceStream = await listen(token('alice', 2_000), alice);
      expect(await within(aliceStream.ended, 5_000), "the expired token's stream ended").to.equal(true);
      // Her client refreshes its token: the same session's stream opens again and stays.
      const again = await listen(token('alice', 60_000), alice);
      expect(await within(again.ended, 1_500), 'a stream opened with a fresh token stays').to.equal('still open');
      await again.cancel();

      // Bob's first token is short, but a request with a newer one renews the session.
      const bob = await open(token('bob', 2_000));
      const bobStream = await listen(token('bob', 2_000), bob);
      const list = await fetch(http.url, { method: 'POST', headers: headers(token('bob', 60_000), bob), body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
      expect(list.status).to.equal(200);
      expect(await within(bobStream.ended, 3_000), 'a renewed session keeps its stream (past its first token)').to.equal('still open');
      await bobStream.cancel();
    } finally {
      await http.app.close();
      await gateway.close();
      await db.cleanup();
    }
  });
});
