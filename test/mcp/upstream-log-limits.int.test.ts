import { expect } from 'chai';
import { request, type IncomingMessage } from 'node:http';
import { Registry, type Counter } from 'prom-client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { McpGateway } from '../../src/mcp/gateway';
import { runGatewayStdio } from '../../src/mcp/gateway-stdio';
import { httpClient, startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';
import { StreamClientTransport } from './support/stream-client-transport';
import { until } from './support/until';
import { collect, loggingServer, type Log } from './support/logging';

const stdio = loggingServer;
const alice = { kind: 'user' as const, id: 'alice' };
// Named here rather than imported, so that the test runs (and fails) on a gateway without the limits.
const DROPPED = 'openmcp_mcp_log_messages_dropped_total';
/** Floods take their time on a loaded machine. */
const SLOW = 30_000;

type Flood = { label: string; n: number; pad: string };

const labelled = (logs: Log[], label: string) => logs.filter((l) => (l.data as Partial<Flood> | undefined)?.label === label);

async function dropped(registry: Registry, reason: string): Promise<number> {
  const counter = registry.getSingleMetric(DROPPED) as Counter | undefined;
  return (await counter?.get())?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function started(limits: Record<string, number>): Promise<{
  gateway: McpGateway;
  registry: Registry;
  http: { app: FastifyInstance; url: string };
  reader: Client;
  logs: Log[];
  close(): Promise<void>;
}> {
  const db = await openTempSqliteStore();
  const registry = new Registry();
  const gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 }, registry, logRelay: limits });
  await gateway.start();
  await gateway.registerServer({ tenant: 'acme', actor: alice, name: 'logs', ...stdio });
  const http = await startGatewayHttp(gateway);
  const reader = await httpClient(http.url, 'key-acme-alice');
  const logs = collect(reader);
  // Its GET stream opens after initialize: a message before that has nowhere to go.
  let n = 0;
  await until('the reader hears the upstream', async () => {
    await reader.callTool({ name: 'logs__flood', arguments: { label: `ready ${n}`, count: 1, padChars: 0 } });
    await new Promise((r) => setTimeout(r, 50));
    return labelled(logs, `ready ${n++}`).length > 0;
  }, SLOW);
  return {
    gateway,
    registry,
    http,
    reader,
    logs,
    close: async () => {
      await reader.close().catch(() => {});
      await http.app.close();
      await gateway.close();
      await db.cleanup();
    },
  };
}

const headers = (session?: string): Record<string, string> => ({
  authorization: 'Bearer key-acme-alice',
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
  ...(session ? { 'mcp-session-id': session } : {}),
});

/** A session whose client opens its GET stream and does not read it (until `resume`), over raw HTTP. */
async function stalledSession(url: string): Promise<{ events: () => Log[]; resume(): void; close(): void }> {
  const post = (session: string | undefined, body: unknown) => fetch(url, { method: 'POST', headers: headers(session), body: JSON.stringify(body) });
  const init = await post(undefined, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'stalled', version: '1' } },
  });
  expect(init.status).to.equal(200);
  await init.text();
  const session = init.headers.get('mcp-session-id')!;
  expect((await post(session, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).to.equal(202);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { ...headers(session), accept: 'text/event-stream' } }, resolve);
    req.on('error', reject);
    req.end();
  });
  expect(res.statusCode).to.equal(200);
  // Not read: paused, the socket fills and the gateway's writes stop being taken.
  res.pause();
  let text = '';
  return {
    events: () =>
      text
        .split('\n\n')
        .flatMap((e) => e.split('\n').filter((l) => l.startsWith('data: ')))
        .map((l) => JSON.parse(l.slice(6)) as { method?: string; params?: Log })
        .filter((m) => m.method === 'notifications/message')
        .map((m) => m.params!),
    resume: () => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.resume();
    },
    close: () => res.destroy(),
  };
}

/**
 * An upstream that logs a lot must not make the gateway hold what its clients do not take: data
 * over the size limit is cut, messages over an upstream's rate dropped, and a client that holds
 * its /mcp GET stream open without reading it gets no more once its queue is full, each drop
 * counted in openmcp_mcp_log_messages_dropped_total{reason}; a client that reads gets them all.
 */
describe('MCP gateway: relayed log messages are bounded', function () {
  this.timeout(180_000);

  describe('size and backlog', function () {
    let g: Awaited<ReturnType<typeof started>>;
    before(async function () {
      // No rate limit to speak of: what is bounded here is each client's queue.
      g = await started({ perSecond: 1e9, burst: 1e9 });
    });
    after(async function () {
      await g?.close();
    });

    it('cuts data over 8192 bytes of JSON to a note giving its size', async function () {
      await g.reader.callTool({ name: 'logs__flood', arguments: { label: 'small', count: 1, padChars: 8000 } });
      await g.reader.callTool({ name: 'logs__flood', arguments: { label: 'big', count: 1, padChars: 20_000 } });
      await until('the reader hears both', () => labelled(g.logs, 'small').length === 1 && g.logs.some((l) => typeof l.data === 'string'), SLOW);
      expect((labelled(g.logs, 'small')[0].data as Flood).pad).to.have.length(8000);
      const size = Buffer.byteLength(JSON.stringify({ label: 'big', n: 0, pad: 'x'.repeat(20_000) }));
      expect(g.logs.filter((l) => typeof l.data === 'string')).to.deep.equal([
        { level: 'info', logger: 'logs', data: `[cut by the gateway: ${size} bytes of JSON data, over the 8192 relayed]` },
      ]);
    });

    it('stops queuing for a client that does not read its GET stream, counting what it drops; a reader gets everything', async function () {
      const stalled = await stalledSession(g.http.url);
      try {
        const sent = 4000;
        const before = await dropped(g.registry, 'backlog');
        // 4000 messages of some 7.9 KB (under the size limit): about 32 MB, more than the sockets hold.
        for (let i = 0; i < sent / 500; i++) await g.reader.callTool({ name: 'logs__flood', arguments: { label: 'flood', count: 500, padChars: 7900 } });
        await g.reader.callTool({ name: 'logs__flood', arguments: { label: 'flood done', count: 1, padChars: 0 } });
        await until('the reader hears the end of the flood', () => labelled(g.logs, 'flood done').length === 1, SLOW);
        // Every message was either queued for a client or counted as dropped for it when relayed.
        const droppedInFlood = (await dropped(g.registry, 'backlog')) - before;
        expect(droppedInFlood, 'dropped for the stalled client').to.be.greaterThan(0);

        // The stalled client's queue is full: a reader still gets every message, the stalled one none.
        await g.reader.callTool({ name: 'logs__flood', arguments: { label: 'later', count: 20, padChars: 10 } });
        await until('the reader hears the later ones', () => labelled(g.logs, 'later').length === 20, SLOW);
        expect((await dropped(g.registry, 'backlog')) - before - droppedInFlood, 'the later ones, for the stalled client').to.equal(20);

        // Once it reads, it gets what was queued for it, then messages again.
        stalled.resume();
        let n = 0;
        await until('the stalled client hears new messages once it reads', async () => {
          await g.reader.callTool({ name: 'logs__flood', arguments: { label: `resumed ${n++}`, count: 1, padChars: 0 } });
          await new Promise((r) => setTimeout(r, 100));
          return stalled.events().some((l) => String((l.data as Flood).label).startsWith('resumed'));
        }, SLOW);
        const stalledGot = labelled(stalled.events(), 'flood').length;
        const readerGot = labelled(g.logs, 'flood').length;
        expect(stalledGot, 'the stalled client got part of the flood').to.be.lessThan(sent);
        // The flood and its end, to each of the two clients.
        const ends = labelled(g.logs, 'flood done').length + labelled(stalled.events(), 'flood done').length;
        if (process.env.LOG_LIMITS_VERBOSE) console.log({ stalledGot, readerGot, droppedInFlood, ends });
        expect(readerGot + stalledGot + ends + droppedInFlood, 'delivered or counted as dropped').to.equal(2 * (sent + 1));
        expect(labelled(stalled.events(), 'later'), 'dropped while stalled').to.deep.equal([]);
      } finally {
        stalled.close();
      }
    });

    it('stops writing to a stdio client that does not read its stdout, counting what it drops', async function () {
      const transport = new StreamClientTransport();
      const stdioSession = await runGatewayStdio(g.gateway, { tenant: 'acme', actor: alice }, { stdin: transport.serverStdin, stdout: transport.serverStdout });
      const client = new Client({ name: 'stdio-test', version: '1.0.0' });
      await client.connect(transport);
      const logs = collect(client);
      try {
        const before = await dropped(g.registry, 'backlog');
        // The client stops reading: what the gateway writes stays in the pipe.
        transport.serverStdout.pause();
        await g.reader.callTool({ name: 'logs__flood', arguments: { label: 'stdio flood', count: 1000, padChars: 7900 } });
        await g.reader.callTool({ name: 'logs__flood', arguments: { label: 'stdio flood done', count: 1, padChars: 0 } });
        await until('the reader hears the end', () => labelled(g.logs, 'stdio flood done').length === 1, SLOW);
        const held = transport.serverStdout.readableLength + transport.serverStdout.writableLength;
        // 100 messages of some 8 KB and the pipe's own buffers, not the 8 MB sent.
        expect(held, 'bytes waiting in the pipe').to.be.below(1_500_000);
        expect((await dropped(g.registry, 'backlog')) - before, 'dropped for the stdio client').to.be.greaterThan(800);
        transport.serverStdout.resume();
        let n = 0;
        await until('the stdio client hears new messages once it reads', async () => {
          await g.reader.callTool({ name: 'logs__flood', arguments: { label: `stdio resumed ${n++}`, count: 1, padChars: 0 } });
          await new Promise((r) => setTimeout(r, 50));
          return logs.some((l) => String((l.data as Flood).label).startsWith('stdio resumed'));
        }, SLOW);
      } finally {
        await client.close().catch(() => {});
        await stdioSession.closed;
      }
    });
  });

  it('drops an upstream’s messages over its rate, counted', async function () {
    const g = await started({ perSecond: 1, burst: 10 });
    try {
      const before = await dropped(g.registry, 'rate');
      await g.reader.callTool({ name: 'logs__flood', arguments: { label: 'rate', count: 50, padChars: 10 } });
      // After the flood, a second and more for one more message to pass.
      await new Promise((r) => setTimeout(r, 1_200));
      await g.reader.callTool({ name: 'logs__flood', arguments: { label: 'rate done', count: 1, padChars: 0 } });
      await until('the reader hears the end', () => labelled(g.logs, 'rate done').length === 1, SLOW);
      const got = labelled(g.logs, 'rate').length;
      const drops = (await dropped(g.registry, 'rate')) - before;
      expect(got + drops, 'relayed or counted as dropped').to.equal(50);
      expect(drops, 'beyond the burst of 10 (and what refilled meanwhile)').to.be.at.least(30);
    } finally {
      await g.close();
    }
  });
});
