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
 *                   also with MCP_PAYLOAD_POLICY=encrypted (arguments and result sealed to the
 *                   caller's subject key, the keys in the SQL database behind their cache);
 *  - gateway stdio: client → gateway process over stdio (`openmcp mcp stdio`) → upstream: same transport as direct;
 *  - gateway /mcp:  client → gateway process over streamable HTTP (JSON responses) → upstream;
 *  - gateway stdio, null store: the same, audit events built but not stored: what the SDK on
 *                   both sides of the gateway costs without the audit (the ceiling of the stdio path);
 *  - audit floor:   the two appends alone; http floor: client → a canned JSON-RPC responder
 *                   (what the SDK client costs over HTTP, no server work at all);
 *  - SDK relay floor: client → a bare SDK Server whose tools/call handler forwards through an SDK
 *                   Client (stdio both sides) → upstream: no catalog, breaker, audit or anything
 *                   else, the ceiling of any gateway built on the SDK on both sides over stdio.
 * Then direct, gateway lib, gateway stdio and /mcp again with the `sleep` tool (2 ms of I/O, as a
 * tool that reads a file or calls a service does at least), and `echo` once more with the same
 * example served over streamable HTTP (its own process; examples/mcp-http) as the upstream: direct
 * HTTP client → it, and the gateway (lib, /mcp) → it. Every row compares with the nearest `direct`
 * row above it.
 * CPU per call: during each throughput phase, the CPU time of every process on the path (this
 * process as the client, the gateway process, the upstream process; from /proc, 10 ms ticks, so
 * use a few thousand calls for tight figures) divided by the calls.
 * Every round measures every path once, in the same order; the table shows each figure's median
 * over the rounds (p50/p99 at concurrency 1 after a warm-up, calls/s at the given concurrency).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Fastify from 'fastify';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { openSqlEventStore } from '../src/eventstore/sql';
import type { EventStore } from '../src/eventstore/port';
import type { PendingEvent, RecordedEvent } from '../src/core/envelope';
import { createEvent } from '../src/core/envelope';
import { newId } from '../src/core/ids';
import { openKnex, type SqliteSynchronous } from '../src/db/knex';
import { cachedSubjectKeys } from '../src/erasure/cached-subject-keys';
import { SqlSubjectKeyStore } from '../src/erasure/sql-subject-key-store';
import type { PayloadPolicy } from '../src/mcp/audit';
import { McpGateway } from '../src/mcp/gateway';
import { mcpGatewayPlugin } from '../src/mcp/gateway-plugin';
import { runGatewayStdio } from '../src/mcp/gateway-stdio';
import { examplesServer } from '../src/mcp/examples-server';
import { isolatedAbortFetch } from '../src/mcp/isolated-abort-fetch';
import type { RegisterServerParameters } from '../src/mcp/types';

type Call = (i: number) => Promise<unknown>;
/** The processes of a path besides this one, read when its throughput phase starts. */
type Procs = () => { gateway?: number; upstream?: number };
type Cpu = { client: number; gateway?: number; upstream?: number };
type Figures = { p50: number; p99: number; rate: number; cpu?: Cpu };

const actor = { kind: 'user' as const, id: 'bench' };
const TSX_HOOK = ['--require', require.resolve('tsx/cjs')];
// Run as JavaScript prebuilt by tsc (dist/bench/*.js), the gateway children are JavaScript too: no
// tsx hook. The upstreams (examples/*.ts) run under tsx either way, as examplesServer() has them.
const TSX = __filename.endsWith('.ts') ? TSX_HOOK : [];
const EXAMPLES_HTTP_SERVER = join(__dirname, '..', 'examples', 'mcp-http', 'server.ts');
// Enough calls to fill the fresh database's WAL once: afterwards commits reuse its pages, as a long-running server's do.
const WARM_UP = 200;

const TICK_US = 10_000; // USER_HZ = 100 on Linux
/** The I/O time of the second tool measured (its rows compare against their own direct row). */
const IO_MS = 2;

/** utime + stime of a process, in microseconds (10 ms resolution). */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}

/** Child processes of `pid` (the upstream a gateway process spawned). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
  }
  return out;
}

async function measure(call: Call, calls: number, concurrency: number, procs?: Procs): Promise<Figures> {
  for (let i = 0; i < WARM_UP; i++) await call(-i - 1);
  const lat: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await call(i);
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  lat.sort((a, b) => a - b);
  let next = 0;
  const pids = procs?.() ?? {};
  const sample = () => {
    const u = process.cpuUsage();
    return { client: u.user + u.system, gateway: pids.gateway && cpuUs(pids.gateway), upstream: pids.upstream && cpuUs(pids.upstream) };
  };
  const c0 = sample();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) await call(calls + next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c1 = sample();
  const per = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : (b - a) / calls);
  const cpu = procs ? { client: per(c0.client, c1.client)!, gateway: per(c0.gateway, c1.gateway), upstream: per(c0.upstream, c1.upstream) } : undefined;
  return { p50: lat[Math.floor(calls * 0.5)], p99: lat[Math.min(calls - 1, Math.floor(calls * 0.99))], rate: calls / seconds, cpu };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The bundled example as the gateway's upstream: spawned over stdio, or the HTTP one at `upstreamUrl`. */
function upstreamSpec(upstreamUrl?: string): RegisterServerParameters {
  return upstreamUrl
    ? { tenant: 'bench', actor, name: 'examples', transport: 'http', url: upstreamUrl }
    : { ...examplesServer(actor, { testTools: true }), tenant: 'bench' };
}

async function openGateway(dir: string, file: string, sync: SqliteSynchronous, upstreamUrl?: string, policy: PayloadPolicy = 'store'): Promise<McpGateway> {
  const store = await openSqlEventStore(`sqlite:${join(dir, file)}`, { sqliteSynchronous: sync });
  // As src/main.ts has them: in the SQL database (here its own connection to the same file), cached.
  const subjectKeys = policy === 'encrypted' ? cachedSubjectKeys(new SqlSubjectKeyStore(await openKnex(`sqlite:${join(dir, file)}`, { sqliteSynchronous: sync }))) : undefined;
  const gateway = new McpGateway({ store, cacheTtlMs: 0, payloadPolicy: policy, subjectKeys, upstream: { healthIntervalMs: 0 } });
  await gateway.start();
  await gateway.registerServer(upstreamSpec(upstreamUrl));
  return gateway;
}

/**
 * Child-process mode `relay`: the least an SDK-built gateway does per call, a bare SDK Server on
 * stdio whose tools/call handler forwards the call through an SDK Client to the upstream.
 */
async function serveRelay(): Promise<void> {
  const ex = examplesServer(actor, { testTools: true });
  const upstream = new Client({ name: 'relay', version: '1' });
  await upstream.connect(new StdioClientTransport({ command: ex.command!, args: ex.args!, stderr: 'ignore', env: { ...(process.env as Record<string, string>), ...ex.env } }));
  const server = new Server({ name: 'relay', version: '1' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => upstream.listTools());
  server.setRequestHandler(CallToolRequestSchema, (req) => upstream.callTool(req.params));
  await server.connect(new StdioServerTransport());
  process.stdin.once('end', () => process.exit(0));
}

/** Child-process mode: the gateway with its own SQLite store, over HTTP (printing its URL) or stdio. */
async function serve(dir: string, transport: string, sync: SqliteSynchronous | 'null', upstreamUrl?: string): Promise<void> {
  if (transport === 'relay') return serveRelay();
  const file = `gateway-${transport}-${sync}${upstreamUrl ? '-http-upstream' : ''}.db`;
  const gateway = sync === 'null' ? await nullGateway() : await openGateway(dir, file, sync, upstreamUrl);
  if (transport === 'stdio') {
    await (await runGatewayStdio(gateway, { tenant: 'bench', actor })).closed;
    // The client went away: exit as `openmcp mcp stdio` does (and let a --cpu-prof write its profile).
    await gateway.close();
    process.exit(0);
  }
  const app = Fastify({ logger: false });
  await app.register(mcpGatewayPlugin, { gateway, authenticate: async () => ({ tenant: 'bench', actor }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(`READY http://127.0.0.1:${(app.server.address() as AddressInfo).port}/mcp`);
}

/** The gateway with the null store: events built and hashed, not stored. */
async function nullGateway(): Promise<McpGateway> {
  const gateway = new McpGateway({ store: nullStore(), cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
  await gateway.registerServer({ ...examplesServer(actor, { testTools: true }), tenant: 'bench' });
  return gateway;
}

/** Accepts appends without storing them: isolates the gateway's own cost from the audit's durability. */
function nullStore(): EventStore {
  let position = 0;
  return {
    name: 'null',
    async append(_stream: string, events: PendingEvent[]) {
      // Object.assign, not a spread, as the SQL store builds them (a spread of an event is V8's slow path on Node 20).
      const recorded = events.map((e, i) => Object.assign({}, e, { revision: i, position: position++ }) as RecordedEvent);
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
  // The fetch the gateway uses for its own HTTP upstreams: without it the SDK client's shared abort signal collects a listener per call.
  await c.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: isolatedAbortFetch(), requestInit: { headers: { authorization: 'Bearer bench' } } }));
  return c;
}

async function stdioClient(command: string, args: string[], env?: Record<string, string>): Promise<Client & { pid: number }> {
  const c = new Client({ name: 'bench', version: '1' });
  const transport = new StdioClientTransport({ command, args, stderr: 'ignore', env: env && { ...(process.env as Record<string, string>), ...env } });
  await c.connect(transport);
  return Object.assign(c, { pid: transport.pid! });
}

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 400);
  const concurrency = Number(process.argv[3] ?? 8);
  const rounds = Number(process.argv[4] ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'omc-gw-bench-'));
  const children: ReturnType<typeof spawn>[] = [];
  /** Spawn a child and wait for the line starting with `ready`: the rest of it is its URL. */
  const spawnServing = async (args: string[], ready: string, env?: Record<string, string>) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    children.push(child);
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith(ready) && resolve(l.slice(ready.length)));
      child.once('exit', (code) => reject(new Error(`${args.at(-1)} exited ${code}`)));
    });
    return { url, pid: child.pid! };
  };
  const httpGateway = async (sync: SqliteSynchronous, upstreamUrl?: string) => {
    const g = await spawnServing([...TSX, __filename, '--serve', dir, 'http', sync, ...(upstreamUrl ? [upstreamUrl] : [])], 'READY ');
    return Object.assign(await httpClient(g.url), { pid: g.pid });
  };
  try {
    const ex = examplesServer(actor, { testTools: true });
    const direct = await stdioClient(ex.command!, ex.args!, ex.env);
    const full = await openGateway(dir, 'lib-full.db', 'full');
    const normal = await openGateway(dir, 'lib-normal.db', 'normal');
    const encrypted = await openGateway(dir, 'lib-encrypted.db', 'full', undefined, 'encrypted');
    const nul = await nullGateway();
    const floorStore = await openSqlEventStore(`sqlite:${join(dir, 'floor.db')}`);
    const viaStdio = await stdioClient(process.execPath, [...TSX, __filename, '--serve', dir, 'stdio', 'full']);
    const viaStdioNull = await stdioClient(process.execPath, [...TSX, __filename, '--serve', dir, 'stdio', 'null']);
    const viaRelay = await stdioClient(process.execPath, [...TSX, __filename, '--serve', dir, 'relay', 'null']);
    const viaHttp = await httpGateway('full');
    const viaHttpNormal = await httpGateway('normal');
    const canned = await cannedResponder();
    const floor = await httpClient(canned.url);
    const httpUpstream = await spawnServing([...TSX_HOOK, EXAMPLES_HTTP_SERVER], 'example MCP server on ', { PORT: '0', MCP_EXAMPLE_TEST_TOOLS: 'on' });
    const directHttp = await httpClient(httpUpstream.url);
    const fullHttpUp = await openGateway(dir, 'lib-full-http-upstream.db', 'full', httpUpstream.url);
    const viaHttpHttpUp = await httpGateway('full', httpUpstream.url);

    const ctx = { tenant: 'bench', actor };
    const upstreamOf = (g: McpGateway) => g.upstream(g.listServers('bench')[0].id)?.pid;
    /** A gateway child process and the upstream it spawned. */
    const viaChild = (pid: number): Procs => () => ({ gateway: pid, upstream: childrenOf(pid)[0] });
    /** The gateway inside this process (its CPU counts as the client's) and its upstream. */
    const inProcess = (g: McpGateway): Procs => () => ({ upstream: upstreamOf(g) });
    const paths: [string, Call, Procs?][] = [
      ['direct: client → upstream (stdio)', (i) => direct.callTool({ name: 'echo', arguments: { text: `d${i}` } }), () => ({ upstream: direct.pid })],
      ['gateway lib: callTool + 2 durable appends (full) → upstream', (i) => full.callTool(ctx, 'examples__echo', { text: `l${i}` }), inProcess(full)],
      ['gateway lib, SQLITE_SYNCHRONOUS=normal', (i) => normal.callTool(ctx, 'examples__echo', { text: `n${i}` }), inProcess(normal)],
      ['gateway lib (full), MCP_PAYLOAD_POLICY=encrypted', (i) => encrypted.callTool(ctx, 'examples__echo', { text: `x${i}` }), inProcess(encrypted)],
      ['gateway lib, audit not stored (null store)', (i) => nul.callTool(ctx, 'examples__echo', { text: `z${i}` }), inProcess(nul)],
      [
        'audit floor: 2 durable SQLite appends (full), no call',
        async () => {
          const s = `toolcall-${newId()}`;
          const mk = () => createEvent({ type: 'TaskStarted', stream: s, tenant: 'bench', actor, data: {} });
          await floorStore.append(s, [mk()], { expectedRevision: 'no_stream' });
          await floorStore.append(s, [mk()], { expectedRevision: 0 });
        },
      ],
      ['gateway stdio: client → gateway (stdio, full) → upstream', (i) => viaStdio.callTool({ name: 'examples__echo', arguments: { text: `s${i}` } }), viaChild(viaStdio.pid)],
      ['gateway stdio, audit not stored (null store)', (i) => viaStdioNull.callTool({ name: 'examples__echo', arguments: { text: `u${i}` } }), viaChild(viaStdioNull.pid)],
      ['SDK relay floor: client → bare SDK Server + Client (stdio) → upstream', (i) => viaRelay.callTool({ name: 'echo', arguments: { text: `r${i}` } }), viaChild(viaRelay.pid)],
      ['gateway /mcp: client → HTTP gateway (full) → upstream', (i) => viaHttp.callTool({ name: 'examples__echo', arguments: { text: `h${i}` } }), viaChild(viaHttp.pid)],
      ['gateway /mcp, SQLITE_SYNCHRONOUS=normal', (i) => viaHttpNormal.callTool({ name: 'examples__echo', arguments: { text: `k${i}` } }), viaChild(viaHttpNormal.pid)],
      ['http floor: client → canned JSON-RPC responder', (i) => floor.callTool({ name: 'echo', arguments: { text: `f${i}` } })],
      // The same paths with a tool that does some I/O (`sleep`, 2 ms), as most real tools do more.
      [`direct, tool with ${IO_MS} ms of I/O`, () => direct.callTool({ name: 'sleep', arguments: { ms: IO_MS } }), () => ({ upstream: direct.pid })],
      [`gateway lib (full), tool with ${IO_MS} ms of I/O`, () => full.callTool(ctx, 'examples__sleep', { ms: IO_MS }), inProcess(full)],
      [`gateway stdio (full), tool with ${IO_MS} ms of I/O`, () => viaStdio.callTool({ name: 'examples__sleep', arguments: { ms: IO_MS } }), viaChild(viaStdio.pid)],
      [`gateway /mcp (full), tool with ${IO_MS} ms of I/O`, () => viaHttp.callTool({ name: 'examples__sleep', arguments: { ms: IO_MS } }), viaChild(viaHttp.pid)],
      // `echo` again, with the example served over streamable HTTP as the upstream.
      ['direct: client → upstream (HTTP), `echo`', (i) => directHttp.callTool({ name: 'echo', arguments: { text: `e${i}` } }), () => ({ upstream: httpUpstream.pid })],
      ['gateway lib (full) → upstream (HTTP)', (i) => fullHttpUp.callTool(ctx, 'examples__echo', { text: `g${i}` }), () => ({ upstream: httpUpstream.pid })],
      [
        'gateway /mcp (full) → upstream (HTTP)',
        (i) => viaHttpHttpUp.callTool({ name: 'examples__echo', arguments: { text: `m${i}` } }),
        () => ({ gateway: viaHttpHttpUp.pid, upstream: httpUpstream.pid }),
      ],
    ];
    // BENCH_ONLY=<regex>: measure only the paths it matches (plus the `direct` rows they are compared with).
    if (process.env.BENCH_ONLY) {
      const only = new RegExp(process.env.BENCH_ONLY);
      paths.splice(0, paths.length, ...paths.filter(([name]) => name.startsWith('direct') || only.test(name)));
    }
    const results: Figures[][] = paths.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (const [i, [name, call, procs]] of paths.entries()) {
        results[i].push(await measure(call, calls, concurrency, procs));
        console.error(`  round ${r + 1}/${rounds}: ${name}`);
      }
    }
    const med = (xs: (number | undefined)[]) => (xs.some((x) => x === undefined) ? undefined : median(xs as number[]));
    const rows = results.map((rs) => ({
      p50: median(rs.map((f) => f.p50)),
      p99: median(rs.map((f) => f.p99)),
      rate: median(rs.map((f) => f.rate)),
      cpu: rs[0].cpu && { client: med(rs.map((f) => f.cpu!.client))!, gateway: med(rs.map((f) => f.cpu!.gateway)), upstream: med(rs.map((f) => f.cpu!.upstream)) },
    }));

    const d = rows[0];
    console.log(
      `\nMCP gateway bench — ${calls} calls at c=1 (latency), ${calls} at c=${concurrency} (throughput), median of ${rounds} rounds; node ${process.version}\n`,
    );
    console.log('| path | p50 ms | p99 ms | calls/s | added p50 ms | added p99 ms | throughput vs direct |');
    console.log('|---|---|---|---|---|---|---|');
    let base = d;
    for (const [i, f] of rows.entries()) {
      if (paths[i][0].startsWith('direct')) base = f;
      console.log(
        `| ${paths[i][0]} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | ${f.rate.toFixed(0)} | ${(f.p50 - base.p50).toFixed(2)} | ${(f.p99 - base.p99).toFixed(2)} | ${((f.rate / base.rate) * 100).toFixed(0)}% |`,
      );
    }
    const name = (n: string) => paths.findIndex((p) => p[0].startsWith(n));
    const h = rows[name('gateway /mcp: ')];
    const fl = rows[name('http floor')];
    if (h && fl) console.log(`\n/mcp (full) above the SDK client's HTTP floor: p50 +${(h.p50 - fl.p50).toFixed(2)} ms, throughput ${((h.rate / fl.rate) * 100).toFixed(0)}% of the floor`);

    const us = (x?: number) => (x === undefined ? '—' : x.toFixed(0));
    console.log(`\nCPU per call during the throughput phase, µs (client = this process; an in-process gateway counts there)\n`);
    console.log('| path | client | gateway process | upstream | all processes |');
    console.log('|---|---|---|---|---|');
    for (const [i, f] of rows.entries()) {
      if (!f.cpu) continue;
      const all = f.cpu.client + (f.cpu.gateway ?? 0) + (f.cpu.upstream ?? 0);
      console.log(`| ${paths[i][0]} | ${us(f.cpu.client)} | ${us(f.cpu.gateway)} | ${us(f.cpu.upstream)} | ${us(all)} |`);
    }

    await Promise.all([
      ...[direct, viaStdio, viaStdioNull, viaRelay, viaHttp, viaHttpNormal, floor, directHttp, viaHttpHttpUp].map((c) => c.close()),
      ...[full, normal, encrypted, nul, fullHttpUp].map((g) => g.close()),
    ]);
    await floorStore.close();
    canned.close();
  } finally {
    for (const c of children) c.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3], process.argv[4], process.argv[5] as SqliteSynchronous, process.argv[6]).catch((err) => {
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
