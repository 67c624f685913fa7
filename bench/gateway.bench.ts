/**
 * tools/call through the MCP gateway vs the same call made directly to the same upstream, one run.
 *
 *   npx tsx bench/gateway.bench.ts [calls=600] [concurrency=8]
 *
 * Upstream: the bundled example server over stdio (`echo`, unique text per call; the response
 * cache is off so every call is forwarded). Every gateway call appends ToolCallRequested and
 * ToolCallCompleted durably to the embedded SQLite event store. Measured, each with a real SDK client:
 *  - direct:        client → upstream over stdio;
 *  - gateway (lib): gateway.callTool() in process (audit appends + upstream call; no client transport);
 *  - gateway /mcp:  client → gateway over streamable HTTP (JSON responses), gateway in its own process;
 *  - http floor:    client → a trivial HTTP responder with canned JSON-RPC (what the SDK client costs, no server).
 * Prints p50/p99 at concurrency 1, calls/s at the given concurrency, and the added latency and ratios.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Fastify from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { openSqlEventStore } from '../src/eventstore/sql';
import type { EventStore } from '../src/eventstore/port';
import type { PendingEvent, RecordedEvent } from '../src/core/envelope';
import { createEvent } from '../src/core/envelope';
import { newId } from '../src/core/ids';
import { McpGateway } from '../src/mcp/gateway';
import { mcpGatewayPlugin } from '../src/mcp/gateway-plugin';
import { examplesServer } from '../src/mcp/examples-server';

type Call = (i: number) => Promise<unknown>;
type Figures = { p50: number; p99: number; rate: number };

const actor = { kind: 'user' as const, id: 'bench' };

async function measure(call: Call, calls: number, concurrency: number): Promise<Figures> {
  for (let i = 0; i < 50; i++) await call(-i - 1); // warm-up
  const lat: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await call(i);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  lat.sort((a, b) => a - b);
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) await call(calls + next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { p50: lat[Math.floor(calls * 0.5)], p99: lat[Math.min(calls - 1, Math.floor(calls * 0.99))], rate: calls / seconds };
}

function upstreamCommand(): { command: string; args: string[] } {
  const ex = examplesServer(actor);
  return { command: ex.command!, args: ex.args! };
}

/** Child-process mode: the gateway with its SQLite store and /mcp, printing its URL. */
async function serve(dir: string): Promise<void> {
  const store = await openSqlEventStore(`sqlite:${join(dir, 'gateway.db')}`);
  const gateway = new McpGateway({ store, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
  await gateway.start();
  await gateway.registerServer({ ...examplesServer(actor), tenant: 'bench' });
  const app = Fastify({ logger: false });
  await app.register(mcpGatewayPlugin, { gateway, authenticate: async () => ({ tenant: 'bench', actor }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(`READY http://127.0.0.1:${(app.server.address() as AddressInfo).port}/mcp`);
}

/** Accepts appends without storing them: isolates the gateway's own cost from the audit's durability. */
function nullStore(): EventStore {
  let position = 0;
  return {
    name: 'null',
    async append(_stream: string, events: PendingEvent[]) {
      const recorded = events.map((e, i) => ({ ...e, revision: i, position: position++ }) as RecordedEvent);
      return { nextExpectedRevision: events.length - 1, position: position - 1, events: recorded };
    },
    readStream: async () => [],
    readAll: async () => [],
    subscribeAll: () => {
      throw new Error('not in this bench');
    },
    headPosition: async () => position - 1,
    ping: async () => {},
    close: async () => {},
  };
}

/** A responder that answers initialize and tools/call with canned JSON: the SDK client's own floor over HTTP. */
async function cannedResponder(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      const msg = JSON.parse(body) as { id?: number; method: string };
      if (msg.id === undefined) return void res.writeHead(202).end();
      const result =
        msg.method === 'initialize'
          ? { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'canned', version: '1' } }
          : { content: [{ type: 'text', text: 'ok' }] };
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'canned' }).end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, close: () => server.close() };
}

async function httpClient(url: string): Promise<Client> {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: 'Bearer bench' } } }));
  return c;
}

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 600);
  const concurrency = Number(process.argv[3] ?? 8);
  const dir = mkdtempSync(join(tmpdir(), 'omc-gw-bench-'));
  const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), __filename, '--serve', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const gatewayUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('READY ') && resolve(l.slice(6)));
      child.once('exit', (code) => reject(new Error(`gateway process exited ${code}`)));
    });

    const direct = new Client({ name: 'bench', version: '1' });
    await direct.connect(new StdioClientTransport({ ...upstreamCommand(), stderr: 'ignore' }));
    const store = await openSqlEventStore(`sqlite:${join(dir, 'lib.db')}`);
    const lib = new McpGateway({ store, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
    await lib.registerServer({ ...examplesServer(actor), tenant: 'bench' });
    const nul = new McpGateway({ store: nullStore(), cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
    await nul.registerServer({ ...examplesServer(actor), tenant: 'bench' });
    const viaHttp = await httpClient(gatewayUrl);
    const canned = await cannedResponder();
    const floor = await httpClient(canned.url);

    const rows: [string, Figures][] = [];
    const run = async (name: string, call: Call) => {
      rows.push([name, await measure(call, calls, concurrency)]);
      console.error(`  measured ${name}`);
    };
    await run('direct: client → upstream (stdio)', (i) => direct.callTool({ name: 'echo', arguments: { text: `d${i}` } }));
    await run('gateway lib: callTool + 2 durable appends → upstream', (i) => lib.callTool({ tenant: 'bench', actor }, 'examples__echo', { text: `l${i}` }));
    await run('gateway lib, audit not stored (null store)', (i) => nul.callTool({ tenant: 'bench', actor }, 'examples__echo', { text: `n${i}` }));
    await run('audit floor: 2 durable SQLite appends, no call', async () => {
      const s = `toolcall-${newId()}`;
      const mk = () => createEvent({ type: 'TaskStarted', stream: s, tenant: 'bench', actor, data: {} });
      await store.append(s, [mk()], { expectedRevision: 'no_stream' });
      await store.append(s, [mk()], { expectedRevision: 0 });
    });
    await run('gateway /mcp: client → HTTP gateway → upstream', (i) => viaHttp.callTool({ name: 'examples__echo', arguments: { text: `h${i}` } }));
    await run('http floor: client → canned JSON-RPC responder', (i) => floor.callTool({ name: 'echo', arguments: { text: `f${i}` } }));

    const d = rows[0][1];
    console.log(`\nMCP gateway bench — ${calls} calls at c=1 (latency), ${calls} at c=${concurrency} (throughput); node ${process.version}\n`);
    console.log('| path | p50 ms | p99 ms | calls/s | added p50 ms | added p99 ms | throughput vs direct |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [name, f] of rows) {
      console.log(
        `| ${name} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | ${f.rate.toFixed(0)} | ${(f.p50 - d.p50).toFixed(2)} | ${(f.p99 - d.p99).toFixed(2)} | ${((f.rate / d.rate) * 100).toFixed(0)}% |`,
      );
    }
    const h = rows[4][1];
    const fl = rows[5][1];
    console.log(`\n/mcp above the SDK client's HTTP floor: p50 +${(h.p50 - fl.p50).toFixed(2)} ms, throughput ${((h.rate / fl.rate) * 100).toFixed(0)}% of the floor`);

    await Promise.all([direct.close(), viaHttp.close(), floor.close(), lib.close(), nul.close()]);
    await store.close();
    canned.close();
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main()
    .then(() => process.exit(0))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
