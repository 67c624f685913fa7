import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { McpGateway } from '../../src/mcp/gateway';
import { startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';

/**
 * Tool results travel in /mcp answers (JSON, or SSE when a caller asks for progress or the SDK
 * answers itself), as tenants' payloads travel in /v1 answers, which are `no-store`. /mcp
 * answers carried no Cache-Control (the SSE ones `no-cache`, which lets a cache store them).
 */
describe('/mcp: Cache-Control no-store on every answer', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  const servers: FastifyInstance[] = [];

  const send = (url: string, method: string, opts: { key?: string; sid?: string; body?: unknown; accept?: string; origin?: string } = {}) =>
    fetch(url, {
      method,
      headers: {
        ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
        ...(opts.sid ? { 'mcp-session-id': opts.sid } : {}),
        ...(opts.origin ? { origin: opts.origin } : {}),
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        accept: opts.accept ?? 'application/json, text/event-stream',
        'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      },
      body: method === 'POST' ? JSON.stringify(opts.body) : undefined,
    });
  const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
  const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };

  /** Every answer of a session's life, with its content type, ended by DELETE. */
  async function answers(url: string): Promise<Response[]> {
    const key = 'key-acme-alice';
    const init = await send(url, 'POST', { key, body: initialize });
    const sid = init.headers.get('mcp-session-id')!;
    const all = [init, await send(url, 'POST', { key, sid, body: initialized })];
    all.push(await send(url, 'POST', { key, sid, body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } }));
    // Asked with a progress token: answered over SSE.
    all.push(await send(url, 'POST', { key, sid, body: { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: { progressToken: 'p' } } } }));
    const stream = await send(url, 'GET', { key, sid, accept: 'text/event-stream' });
    all.push(stream);
    await stream.body?.cancel();
    all.push(await send(url, 'POST', { body: { jsonrpc: '2.0', id: 3, method: 'ping' } })); // 401
    all.push(await send(url, 'POST', { key, sid: 'no-such-session', body: { jsonrpc: '2.0', id: 4, method: 'ping' } })); // 404
    all.push(await send(url, 'POST', { key, body: { jsonrpc: '2.0', id: 5, method: 'ping' } })); // 400, no session
    all.push(await send(url, 'POST', { key, sid, origin: 'https://elsewhere.example', body: { jsonrpc: '2.0', id: 6, method: 'ping' } })); // 403
    all.push(await send(url, 'DELETE', { key, sid }));
    for (const res of all) await res.body?.cancel().catch(() => {});
    return all;
  }

  before(async () => {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
  });
  after(async () => {
    for (const app of servers) await app.close();
    await gateway?.close();
    await db?.cleanup();
  });

  for (const enableJsonResponse of [true, false]) {
    it(`answers JSON no-store and SSE no-store, no-transform, refusals included (enableJsonResponse: ${enableJsonResponse})`, async () => {
      const http = await startGatewayHttp(gateway, { enableJsonResponse });
      servers.push(http.app);
      const all = await answers(http.url);
      const seen = all.map((r) => `${r.status} ${r.headers.get('content-type')?.split(';')[0] ?? ''}: ${r.headers.get('cache-control')}`);
      for (const line of seen) {
        if (line.includes('text/event-stream')) expect(line, seen.join('\n')).to.match(/: no-store, no-transform$/);
        else expect(line, seen.join('\n')).to.match(/: no-store$/);
      }
      expect(seen.some((l) => l.includes('text/event-stream')), seen.join('\n')).to.equal(true);
      expect(all.map((r) => r.status)).to.include.members([200, 202, 400, 401, 403, 404]);
    });
  }
});
