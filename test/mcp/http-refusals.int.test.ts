import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { createRateLimiter } from '../../src/auth/rate-limit';
import type { Principal } from '../../src/auth/principal';
import { MemoryCache } from '../../src/cache/memory';
import { McpGateway } from '../../src/mcp/gateway';
import { startGatewayHttp, trivialAuth } from './support/clients';
import { openTempSqliteStore } from './support/stores';
import { roomInRateWindow } from '../support/rate-window';

type RpcBody = { jsonrpc: string; error: { code: number; message: string; data?: { code?: string } }; id: null };

/**
 * What /mcp refuses before the MCP server sees a request is a JSON-RPC error with the HTTP
 * status and, like every other gateway failure, the stable code of docs/errors.md in
 * `error.data.code`: clients branch on it, not on the message.
 */
describe('/mcp HTTP-level refusals carry the stable error code', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let http: { app: FastifyInstance; url: string };
  let session: string;

  const limiter = createRateLimiter({ cache: new MemoryCache(1000), perKeyPerMinute: 1, perTenantPerMinute: 1000 });
  const send = (method: string, key: string | undefined, opts: { sid?: string; body?: unknown } = {}) =>
    fetch(http.url, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(opts.sid ? { 'mcp-session-id': opts.sid } : {}),
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      },
      body: method === 'POST' ? JSON.stringify(opts.body ?? { jsonrpc: '2.0', id: 1, method: 'ping' }) : undefined,
    });
  const refusal = async (res: Response, status: number, code: string): Promise<RpcBody> => {
    expect(res.status).to.equal(status);
    const body = (await res.json()) as RpcBody;
    expect(body.jsonrpc).to.equal('2.0');
    expect(body.id).to.equal(null);
    expect(body.error.code).to.equal(-32001);
    expect(body.error.data, `${status}: ${body.error.message}`).to.deep.equal({ code });
    return body;
  };

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    http = await startGatewayHttp(gateway, {
      // The real rate limiter, for the key `key-acme-limited` only (one request a minute).
      authenticate: async (request) => {
        const p = await trivialAuth(request);
        if (p?.actor.id === 'limited') await limiter({ ...p, role: 'operator', crossTenant: false, via: 'api-key', subject: 'limited' } as Principal);
        return p;
      },
    });
    const init = await send('POST', 'key-acme-alice', {
      body: { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } },
    });
    expect(init.status).to.equal(200);
    session = init.headers.get('mcp-session-id')!;
  });

  after(async function () {
    await http?.app.close();
    await gateway?.close();
    await db?.cleanup();
  });

  it('401 UNAUTHENTICATED without a valid key, with WWW-Authenticate', async function () {
    const res = await send('POST', undefined, { sid: session });
    expect(res.headers.get('www-authenticate')).to.equal('Bearer');
    await refusal(res, 401, 'UNAUTHENTICATED');
    await refusal(await send('POST', 'not-a-key'), 401, 'UNAUTHENTICATED');
  });

  it('403 FORBIDDEN for a session of another identity', async function () {
    await refusal(await send('POST', 'key-acme-bob', { sid: session }), 403, 'FORBIDDEN');
    await refusal(await send('POST', 'key-globex-alice', { sid: session }), 403, 'FORBIDDEN');
  });

  it("403 FORBIDDEN for another identity's GET stream (a resume with Last-Event-ID too), tools/list and DELETE: the session goes on for its owner", async function () {
    for (const key of ['key-acme-bob', 'key-globex-alice']) {
      await refusal(await send('GET', key, { sid: session }), 403, 'FORBIDDEN');
      const resume = await fetch(http.url, { headers: { authorization: `Bearer ${key}`, 'mcp-session-id': session, 'last-event-id': 'x-1', accept: 'text/event-stream', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION } });
      await refusal(resume, 403, 'FORBIDDEN');
      await refusal(await send('POST', key, { sid: session, body: { jsonrpc: '2.0', id: 2, method: 'tools/list' } }), 403, 'FORBIDDEN');
      await refusal(await send('DELETE', key, { sid: session }), 403, 'FORBIDDEN');
    }
    const ping = await send('POST', 'key-acme-alice', { sid: session });
    expect(ping.status, 'not ended by their DELETE').to.equal(200);
  });

  it('404 MCP_SESSION_NOT_FOUND for a session nobody knows, on POST, GET and DELETE', async function () {
    for (const method of ['POST', 'GET', 'DELETE']) await refusal(await send(method, 'key-acme-alice', { sid: randomUUID() }), 404, 'MCP_SESSION_NOT_FOUND');
  });

  it('400 VALIDATION_FAILED for a request without a session that is not an initialize', async function () {
    await refusal(await send('POST', 'key-acme-alice'), 400, 'VALIDATION_FAILED');
  });

  it('429 RATE_LIMITED with Retry-After over the rate limit', async function () {
    // One request a minute, the clock's: both below within one, else the second is a new window's first.
    await roomInRateWindow(5_000);
    expect((await send('POST', 'key-acme-limited')).status, 'the first request of the window is not limited').to.equal(400);
    const res = await send('POST', 'key-acme-limited');
    expect(Number(res.headers.get('retry-after'))).to.be.within(1, 60);
    await refusal(res, 429, 'RATE_LIMITED');
  });
});
