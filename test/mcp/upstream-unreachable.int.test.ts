import { expect } from 'chai';
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { McpGateway } from '../../src/mcp/gateway';
import { healthCauseOf } from '../../src/mcp/health-cause';
import { isolatedAbortFetch } from '../../src/mcp/isolated-abort-fetch';
import { SseTransportWithCause } from '../../src/mcp/sse-transport-with-cause';
import { freePort } from '../support/free-port';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'test' };

// `openmcp mcp servers add x --url …` to a host that does not resolve, or a port nobody listens on,
// answered "down (x (url): fetch failed)": undici's message, whose reason is in its `cause`.
describe('MCP upstream that cannot be reached: the reason says why', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;

  before(async () => {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { callTimeoutMs: 4_000, connectTimeoutMs: 10_000, healthIntervalMs: 0, retries: 0, retryBackoffMs: 10 } });
    await gateway.start();
  });
  after(async () => {
    await gateway?.close();
    await db?.cleanup();
  });

  it('a port nobody listens on: down, the reason naming ECONNREFUSED and the address (was "fetch failed")', async () => {
    const port = await freePort();
    const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'nobody', transport: 'http', url: `http://127.0.0.1:${port}/mcp` });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.equal(`nobody (http://127.0.0.1:${port}/mcp): fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('a host name that does not resolve: the reason names ENOTFOUND and the host', async () => {
    const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'nohost', transport: 'http', url: 'http://no-such-host.invalid/mcp' });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.match(/^nohost \(http:\/\/no-such-host\.invalid\/mcp\): fetch failed: getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid$/);
  });

  // The SDK's SSE transport opens its stream with an EventSource, which kept only the failed fetch's
  // text: the health event's cause was `unreachable` with no code, where streamable HTTP's names it.
  it('an SSE upstream on a port nobody listens on: the same reason, and cause (errno ECONNREFUSED), as streamable HTTP gives', async () => {
    const port = await freePort();
    const sse = await gateway.registerServer({ tenant: 'acme', actor, name: 'nobody-sse', transport: 'sse', url: `http://127.0.0.1:${port}/sse` });
    expect(sse.health).to.equal('down');
    expect(sse.healthReason).to.equal(`nobody-sse (http://127.0.0.1:${port}/sse): fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`);

    // Under hash-only the log records the cause, not the text: both transports' causes the same.
    const hidden = new McpGateway({ store: db.store, payloadPolicy: 'hash-only', upstream: { callTimeoutMs: 4_000, connectTimeoutMs: 10_000, healthIntervalMs: 0, retries: 0, retryBackoffMs: 10 } });
    await hidden.start();
    try {
      const causeOf = async (transport: 'http' | 'sse') => {
        const s = await hidden.registerServer({ tenant: 'beta', actor, name: `hidden-${transport}`, transport, url: `http://127.0.0.1:${port}/${transport}` });
        const change = (await db.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerHealthChanged' && e.stream.endsWith(s.id)).at(-1);
        return (change?.data as { cause?: unknown } | undefined)?.cause;
      };
      const httpCause = await causeOf('http');
      expect(httpCause).to.deep.equal({ kind: 'unreachable', errno: 'ECONNREFUSED' });
      expect(await causeOf('sse')).to.deep.equal(httpCause);
    } finally {
      await hidden.close();
    }
  });

  it('SseTransportWithCause: a start that fails to connect throws fetch\'s own error (its code in the cause); an HTTP status stays the SseError', async () => {
    const port = await freePort();
    const refused = new SseTransportWithCause(new URL(`http://127.0.0.1:${port}/sse`), { fetch: isolatedAbortFetch(fetch) });
    const err = await refused.start().then(() => undefined, (e: unknown) => e);
    await refused.close();
    expect(err).to.be.instanceOf(TypeError);
    expect(healthCauseOf(err)).to.deep.equal({ kind: 'unreachable', errno: 'ECONNREFUSED' });

    const notFound = new SseTransportWithCause(new URL('http://127.0.0.1:1/sse'), { fetch: async () => new Response('no', { status: 404 }) });
    const answered = await notFound.start().then(() => undefined, (e: unknown) => e);
    await notFound.close();
    expect(answered).to.be.instanceOf(SseError);
    expect(healthCauseOf(answered)).to.deep.equal({ kind: 'http-status', httpStatus: 404 });
  });
});
