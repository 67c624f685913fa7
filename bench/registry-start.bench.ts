/**
 * How long an MCP gateway takes to rebuild its catalog at start as the log grows, one run.
 *
 *   npx tsx bench/registry-start.bench.ts [events=200000] [rounds=5]
 *
 * A gateway rebuilds its catalog from the registry streams (`mcpserver-<id>`) of the log, which
 * in a running system is mostly tool calls (two events per call). Measured on the embedded SQLite
 * store, each the median over the rounds:
 *  - start, short log:  McpGateway.start() on a log holding only one registration (the baseline);
 *  - start, long log:   the same registration followed by `events` tool-call events;
 *  - full scan:         reading the whole long log page by page, as start() did before 2026-12-05
 *                       (it kept only the registry events, but read every one).
 * Ratios are against the short-log start. The upstream is never connected (follow off, an
 * unreachable HTTP URL): only the catalog rebuild is timed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent } from '../src/core/envelope';
import { newId } from '../src/core/ids';
import type { EventStore } from '../src/eventstore/port';
import { openSqlEventStore } from '../src/eventstore/sql';
import { McpGateway } from '../src/mcp/gateway';
import { printTable } from './stats';

const EVENTS = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const actor = { kind: 'user' as const, id: 'bench' };

async function register(store: EventStore): Promise<void> {
  const stream = `mcpserver-${newId()}`;
  const data = { name: 'remote', transport: 'http', url: 'http://127.0.0.1:9/mcp' };
  await store.append(stream, [createEvent({ type: 'McpServerRegistered', stream, tenant: 'acme', actor, data })], { expectedRevision: 'no_stream' });
}

async function fill(store: EventStore, n: number): Promise<void> {
  const text = 'lorem ipsum dolor sit amet '.repeat(8);
  for (let i = 0; i < n; i += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, n - i) }, (_, j) => {
        const stream = `toolcall-${newId()}`;
        const data = { serverId: newId(), server: 'remote', tool: 'echo', argumentsHash: `0x${'ab'.repeat(32)}`, argumentsJson: JSON.stringify({ text: `${text}${i + j}` }), payloadPolicy: 'store' };
        return store.append(stream, [createEvent({ type: 'ToolCallRequested', stream, tenant: 'acme', actor, data })], { expectedRevision: 'no_stream' });
      }),
    );
  }
}

async function timeStart(store: EventStore): Promise<number> {
  const gw = new McpGateway({ store, follow: false, upstream: { healthIntervalMs: 0 } });
  const t0 = process.hrtime.bigint();
  await gw.start();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const servers = gw.listServers('acme').length;
  await gw.close();
  if (servers !== 1) throw new Error(`the catalog holds ${servers} servers after start, expected 1`);
  return ms;
}

async function timeFullScan(store: EventStore): Promise<number> {
  const t0 = process.hrtime.bigint();
  let after = -1;
  for (;;) {
    const page = await store.readAll({ after, limit: 1000 });
    if (page.length) after = page[page.length - 1].position;
    if (page.length < 1000) break;
  }
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'omc-registry-bench-'));
  try {
    const short = await openSqlEventStore(`sqlite:${join(dir, 'short.db')}`, { sqliteSynchronous: 'normal' });
    const long = await openSqlEventStore(`sqlite:${join(dir, 'long.db')}`, { sqliteSynchronous: 'normal' });
    await register(short);
    await register(long);
    const t0 = Date.now();
    await fill(long, EVENTS);
    console.log(`long log: ${EVENTS + 1} events written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const runs = { short: [] as number[], long: [] as number[], scan: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      runs.short.push(await timeStart(short));
      runs.long.push(await timeStart(long));
      runs.scan.push(await timeFullScan(long));
    }
    const base = median(runs.short);
    printTable([
      { path: 'start, short log (1 event)', ms: base, ratio: 1 },
      { path: `start, long log (${EVENTS + 1} events)`, ms: median(runs.long), ratio: median(runs.long) / base },
      { path: 'full scan of the long log (start before 2026-12-05)', ms: median(runs.scan), ratio: median(runs.scan) / base },
    ]);
    await short.close();
    await long.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
