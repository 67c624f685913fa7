/**
 * tools/call through the MCP gateway vs the same call made directly to the same upstream, one run.
 *
 *   npx tsx bench/gateway.bench.ts [calls=400] [concurrency=8] [rounds=3]
 *
 * Upstream: the bundled example server over stdio (`echo`, unique text per call; the response
 * cache is off so every call is forwarded). Gateway calls append ToolCallRequested and
 * ToolCallCompleted to the embedded SQLite event store, durably (SQLITE_SYNCHRONOUS=full, the
 * default) unless a row says `normal`. Measured, each with a real SDK client:
 *  - direct:        client → upstream over stdio (the baseline);
 *  - gateway lib:   gateway.callTool() in process (audit appends + upstream call; no client transport);
 *  - gateway stdio: client → gateway process over stdio (`openmcp mcp stdio`) → upstream: same transport as direct;
 *  - gateway /mcp:  client → gateway process over streamable HTTP (JSON responses) → upstream;
 *  - audit floor:   the two appends alone; http floor: client → a canned JSON-RPC responder
 *                   (what the SDK client costs over HTTP, no server work at all).
 * Every round measures every path once, in the same order; the table shows each figure's median
 * over the rounds (p50/p99 at concurrency 1 after a warm-up, calls/s at the given concurrency).
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
import type { SqliteSynchronous } from '../src/db/knex';
import { McpGateway } from '../src/mcp/gateway';
import { mcpGatewayPlugin } from '../src/mcp/gateway-plugin';
import { runGatewayStdio } from '../src/mcp/gateway-stdio';
import { examplesServer } from '../src/mcp/examples-server';

type Call = (i: number) => Promise<unknown>;
type Figures = { p50: number; p99: number; rate: number };

const actor = { kind: 'user' as const, id: 'bench' };
const TSX = ['--require', require.resolve('tsx/cjs')];
// Enough calls to fill the fresh database's WAL once: afterwards commits reuse its pages, as a long-running server's do.
const WARM_UP = 200;

async function measure(call: Call, calls: number, concurrency: number): Promise<Figures> {
  for (let i = 0; i < WARM_UP; i++) await call(-i - 1);
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function openGateway(dir: string, file: string, sync: SqliteSynchronous): Promise<McpGateway> {
  const store = await openSqlEventStore(`sqlite:${join(dir, file)}`, { sqliteSynchronous: sync });
  const gateway = new McpGateway({ store, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
  await gateway.start();
  await gateway.registerServer({ ...examplesServer(actor), tenant: 'bench' });
  return gateway;
}

/** Child-process mode: the gateway with its own SQLite store, over HTTP (printing its URL) or stdio. */
async function serve(dir: string, transport: string, sync: SqliteSynchronous): Promise<void> {
  const gateway = await openGateway(dir, `gateway-${transport}-${sync}.db`, sync);
  if (transport === 'stdio') {
    await runGatewayStdio(gateway, { tenant: 'bench', actor });
    return;
  }
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

async function stdioClient(command: string, args: string[]): Promise<Client> {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StdioClientTransport({ command, args, stderr: 'ignore' }));
  return c;
}

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 400);
  const concurrency = Number(process.argv[3] ?? 8);
  const rounds = Number(process.argv[4] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'omc-gw-bench-'));
  const children: ReturnType<typeof spawn>[] = [];
  const httpGateway = async (sync: SqliteSynchronous) => {
    const child = spawn(process.execPath, [...TSX, __filename, '--serve', dir, 'http', sync], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('READY ') && resolve(l.slice(6)));
      child.once('exit', (code) => reject(new Error(`gateway process exited ${code}`)));
    });
    return httpClient(url);
  };
  try {
    const ex = examplesServer(actor);
    const direct = await stdioClient(ex.command!, ex.args!);
    const full = await openGateway(dir, 'lib-full.db', 'full');
    const normal = await openGateway(dir, 'lib-normal.db', 'normal');
    const nul = new McpGateway({ store: nullStore(), cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
    await nul.registerServer({ ...examplesServer(actor), tenant: 'bench' });
    const floorStore = await openSqlEventStore(`sqlite:${join(dir, 'floor.db')}`);
    const viaStdio = await stdioClient(process.execPath, [...TSX, __filename, '--serve', dir, 'stdio', 'full']);
    const viaHttp = await httpGateway('full');
    const viaHttpNormal = await httpGateway('normal');
    const canned = await cannedResponder();
    const floor = await httpClient(canned.url);

    const ctx = { tenant: 'bench', actor };
    const paths: [string, Call][] = [
      ['direct: client → upstream (stdio)', (i) => direct.callTool({ name: 'echo', arguments: { text: `d${i}` } })],
      ['gateway lib: callTool + 2 durable appends (full) → upstream', (i) => full.callTool(ctx, 'examples__echo', { text: `l${i}` })],
      ['gateway lib, SQLITE_SYNCHRONOUS=normal', (i) => normal.callTool(ctx, 'examples__echo', { text: `n${i}` })],
      ['gateway lib, audit not stored (null store)', (i) => nul.callTool(ctx, 'examples__echo', { text: `z${i}` })],
      [
        'audit floor: 2 durable SQLite appends (full), no call',
        async () => {
          const s = `toolcall-${newId()}`;
          const mk = () => createEvent({ type: 'TaskStarted', stream: s, tenant: 'bench', actor, data: {} });
          await floorStore.append(s, [mk()], { expectedRevision: 'no_stream' });
          await floorStore.append(s, [mk()], { expectedRevision: 0 });
        },
      ],
      ['gateway stdio: client → gateway (stdio, full) → upstream', (i) => viaStdio.callTool({ name: 'examples__echo', arguments: { text: `s${i}` } })],
      ['gateway /mcp: client → HTTP gateway (full) → upstream', (i) => viaHttp.callTool({ name: 'examples__echo', arguments: { text: `h${i}` } })],
      ['gateway /mcp, SQLITE_SYNCHRONOUS=normal', (i) => viaHttpNormal.callTool({ name: 'examples__echo', arguments: { text: `k${i}` } })],
      ['http floor: client → canned JSON-RPC responder', (i) => floor.callTool({ name: 'echo', arguments: { text: `f${i}` } })],
    ];
    const results: Figures[][] = paths.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (const [i, [name, call]] of paths.entries()) {
        results[i].push(await measure(call, calls, concurrency));
        console.error(`  round ${r + 1}/${rounds}: ${name}`);
      }
    }
    const rows = results.map((rs) => ({ p50: median(rs.map((f) => f.p50)), p99: median(rs.map((f) => f.p99)), rate: median(rs.map((f) => f.rate)) }));

    const d = rows[0];
    console.log(
      `\nMCP gateway bench — ${calls} calls at c=1 (latency), ${calls} at c=${concurrency} (throughput), median of ${rounds} rounds; node ${process.version}\n`,
    );
    console.log('| path | p50 ms | p99 ms | calls/s | added p50 ms | added p99 ms | throughput vs direct |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [i, f] of rows.entries()) {
      console.log(
        `| ${paths[i][0]} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | ${f.rate.toFixed(0)} | ${(f.p50 - d.p50).toFixed(2)} | ${(f.p99 - d.p99).toFixed(2)} | ${((f.rate / d.rate) * 100).toFixed(0)}% |`,
      );
    }
    const h = rows[6];
    const fl = rows[8];
    console.log(`\n/mcp (full) above the SDK client's HTTP floor: p50 +${(h.p50 - fl.p50).toFixed(2)} ms, throughput ${((h.rate / fl.rate) * 100).toFixed(0)}% of the floor`);

    await Promise.all([direct.close(), viaStdio.close(), viaHttp.close(), viaHttpNormal.close(), floor.close(), full.close(), normal.close(), nul.close()]);
    await floorStore.close();
    canned.close();
  } finally {
    for (const c of children) c.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3], process.argv[4], process.argv[5] as SqliteSynchronous).catch((err) => {
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
