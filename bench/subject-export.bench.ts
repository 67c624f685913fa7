/**
 * An access request's events (`openmcp subjects export`): the subject's events from the subject
 * index (GET /v1/subjects/:subject/events, what exportSubject reads now) against the whole-log scan
 * it did before (GET /v1/events page by page, filtered in the client: scanLogForSubject), over HTTP
 * to a real app on SQLite and on MariaDB, in the same run. Both must find the same events.
 * Only the events: the tasks and tool calls opened one request each afterwards are the same in both.
 * Also what the index costs the projector: its applier's write time over the audit log's.
 * The scan needs a request per 1,000 events of the log, the index one per 1,000 of the subject's:
 * under RATE_LIMIT_PER_KEY (600 a minute) that, not the time measured here, bounds a large log.
 * Then the details phase: the whole export (exportSubject) of a subject with many tool calls and
 * tasks, made through the real gateway (MCP_PAYLOAD_POLICY=encrypted, every payload opened), with
 * its tasks and calls read one request each (as against a server without include=details: the
 * client's requests stripped of it) against read with the pages of its events (include=details),
 * in the same run, on SQLite (in memory): requests and time of each; both outputs must be the same
 * bytes.
 * Run: npx tsx bench/subject-export.bench.ts   (needs MariaDB on 127.0.0.1:3306 for its half)
 * BENCH_EVENTS (default 100000) events in three tenants, BENCH_SUBJECT_EVENTS (default 500) of them
 * the subject's (its own, sealed under its key on its behalf, its key's stream), BENCH_ROUNDS
 * (default 3) timings of each path, BENCH_DIALECTS (default "sqlite,mysql"); BENCH_PHASES (default
 * "events,details"); for the details phase BENCH_CALLS (default 3000) calls of the subject and
 * BENCH_TASKS (default 300) tasks of it, each with a step call made on its behalf.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLogApplier } from '../projections/audit-log.sql';
import { emptyTouched } from '../projections/projection';
import { subjectEventsApplier } from '../projections/subject-events.sql';
import { LIVE_TABLES } from '../projections/tables';
import { createEvent, type Actor, type RecordedEvent } from '../src/core/envelope';
import { MemorySubjectKeyStore } from '../src/erasure/memory-subject-key-store';
import { OpenMcpClient } from '../src/sdk/client';
import { scanLogForSubject } from '../src/sdk/subject-log-scan';
import { makeHarness } from '../test/api/support/harness';
import { createTestDatabase, mysqlAvailable } from '../test/support/services';
import { printTable } from './stats';
import { startHttpExample } from '../examples/mcp-http/server';
import { printableJson } from '../src/cli/printable';
import { cachedSubjectKeys } from '../src/erasure/cached-subject-keys';
import { exportSubject } from '../src/sdk/subject-export';
import { makeGatewayHarness } from '../test/api/support/gateway-harness';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const SUBJECT_EVENTS = Number(process.env.BENCH_SUBJECT_EVENTS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,mysql').split(',');
const BATCH = 2000;
const PHASES = (process.env.BENCH_PHASES ?? 'events,details').split(',');
const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const TASKS = Number(process.env.BENCH_TASKS ?? 300);

const subjectActor: Actor = { kind: 'agent', id: '01a24f00-0000-7000-8000-00000000beef' };
const subject = `acme:agent:${subjectActor.id}`;
const tenantOf = (i: number) => (i % 10 < 6 ? 'acme' : i % 10 < 9 ? 'globex' : 'initech');

/** The i-th event of the log: every (EVENTS / SUBJECT_EVENTS)-th is the subject's, in turn its own, sealed under its key, its key's stream. */
function eventAt(i: number, kid: string): RecordedEvent {
  const every = Math.max(1, Math.floor(EVENTS / SUBJECT_EVENTS));
  const mine = i % every === 0 && i / every < SUBJECT_EVENTS;
  const kind = (i / every) % 3;
  const sealed = { alg: 'A256GCM', kid: mine && kind === 1 ? kid : '01a24f00-0000-7000-8000-000000000000', iv: '0x00', ct: `0x${'ab'.repeat(120)}`, tag: '0x00' };
  const actor: Actor = mine && kind === 0 ? subjectActor : { kind: 'agent', id: `agent-${i % 50}` };
  const stream = mine && kind === 2 ? `apikey-${subjectActor.id}` : `toolcall-${i}`;
  const e = createEvent({ type: 'ToolCallRequested', version: 2, stream, tenant: mine ? 'acme' : tenantOf(i), actor, data: { server: 'examples', tool: 'echo', payloadPolicy: 'encrypted', argumentsSealed: sealed } });
  return { ...e, revision: 0, position: i, hash: `0x${i.toString(16).padStart(64, '0')}` } as RecordedEvent;
}

async function timeMs<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await f();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function run(dialect: string): Promise<Record<string, string | number> | undefined> {
  let databaseUrl: string;
  let drop: () => Promise<void>;
  if (dialect === 'mysql') {
    try {
      await mysqlAvailable();
    } catch {
      console.log('MariaDB not reachable on 127.0.0.1:3306: skipped');
      return undefined;
    }
    const db = await createTestDatabase('omc_bench_subject');
    databaseUrl = db.url;
    drop = () => db.drop();
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'omc-bench-subject-'));
    databaseUrl = `sqlite:${join(dir, 'rm.db')}`;
    drop = async () => rmSync(dir, { recursive: true, force: true });
  }
  const subjectKeys = new MemorySubjectKeyStore();
  const { kid } = await subjectKeys.keyFor(subject);
  const h = await makeHarness({ subjectKeys }, { databaseUrl });
  try {
    // The read models as the projector leaves them (the two appliers the lists read), without the event store.
    // What the index costs the projector: its applier's time against the audit log's, batch by batch.
    const audit = auditLogApplier();
    let auditMs = 0;
    let indexMs = 0;
    for (let from = 0; from < EVENTS; from += BATCH) {
      const events = Array.from({ length: Math.min(BATCH, EVENTS - from) }, (_, k) => eventAt(from + k, kid));
      await h.knex.transaction(async (trx) => {
        auditMs += (await timeMs(() => audit.apply(trx, LIVE_TABLES, events, emptyTouched()))).ms;
        indexMs += (await timeMs(() => subjectEventsApplier.apply(trx, LIVE_TABLES, events, emptyTouched()))).ms;
      });
    }
    const { key } = await h.key('admin', 'acme');
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const client = new OpenMcpClient({ baseUrl: `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`, apiKey: key });
    const scan = async () => {
      const ids: string[] = [];
      for await (const e of scanLogForSubject(client, subject, new Set([kid]), async () => {})) ids.push(e.id);
      return ids;
    };
    const indexed = async () => {
      const ids: string[] = [];
      for await (const e of client.subjects.allEvents(subject, { limit: 1000 })) ids.push(e.id);
      return ids;
    };
    const scans: number[] = [];
    const lists: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const a = await timeMs(scan);
      const b = await timeMs(indexed);
      if (a.value.length !== SUBJECT_EVENTS || JSON.stringify(a.value) !== JSON.stringify(b.value)) {
        throw new Error(`${dialect}: the index found ${b.value.length} events, the scan ${a.value.length}; ${SUBJECT_EVENTS} expected, the same`);
      }
      scans.push(a.ms);
      lists.push(b.ms);
    }
    return {
      dialect,
      'log events': EVENTS,
      "subject's": SUBJECT_EVENTS,
      'scan ms': median(scans),
      'index ms': median(lists),
      'speed-up ×': median(scans) / median(lists),
      'scan requests': Math.ceil(EVENTS / 1000),
      'index requests': Math.ceil(SUBJECT_EVENTS / 1000),
      'index write / audit write': indexMs / auditMs,
    };
  } finally {
    await h.close();
    await drop();
  }
}

/** `n` calls of `f`, `width` at a time. */
async function inParallel(n: number, width: number, f: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await f(next++);
  }));
}

/** The details phase: the whole export, its tasks and calls one request each against with the pages of its events. */
async function runDetails(): Promise<Record<string, string | number>> {
  const upstream = await startHttpExample();
  const keys = cachedSubjectKeys(new MemorySubjectKeyStore());
  const { h, gw, close } = await makeGatewayHarness({ subjectKeys: keys, sealTaskInputs: true }, 10_000, { payloadPolicy: 'encrypted', subjectKeys: keys, cacheTtlMs: 0 });
  try {
    const reg = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: (await h.key('admin', 'acme', true)).auth, payload: { name: 'remote', transport: 'http', url: upstream.url } });
    if (reg.statusCode !== 201) throw new Error(`registering the upstream: ${reg.body}`);
    const admin = await h.key('admin', 'acme');
    const submitter = await h.key('operator', 'acme');
    const who = { kind: 'user' as const, id: submitter.id };
    const made = await timeMs(async () => {
      await inParallel(TASKS, 4, async (i) => {
        const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: submitter.auth, payload: { instruction: `task ${i}`, steps: [{ tool: 'remote__echo', arguments: { text: `step ${i}` } }] } });
        await gw.callTool({ tenant: 'acme', actor: { kind: 'agent', id: 'agent-bench' }, subject: who, taskId: res.json().id }, 'remote__echo', { text: `step ${i}` });
      });
      await inParallel(CALLS, 8, (i) => gw.callTool({ tenant: 'acme', actor: who }, 'remote__echo', { text: `call ${i} ${'p'.repeat(200)}` }));
      const head = await h.store.headPosition();
      while ((await h.knex('rm_audit_events').where('position', head)).length === 0) await new Promise((r) => setTimeout(r, 100));
    });
    console.log(`details phase: ${TASKS} tasks and ${CALLS} calls made in ${(made.ms / 1000).toFixed(1)} s`);
    const baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const exported = async (perItem: boolean) => {
      let requests = 0;
      const client = new OpenMcpClient({
        baseUrl,
        apiKey: admin.key,
        fetch: (input, init) => {
          const url = new URL(String(input));
          if (perItem) url.searchParams.delete('include');
          requests++;
          return fetch(url, init);
        },
      });
      const x = await exportSubject(client, `acme:user:${submitter.id}`, { now: () => new Date(0) });
      return { text: printableJson(x, 2), requests, calls: x.toolCalls.length, tasks: x.tasks.length };
    };
    const perItem: number[] = [];
    const paged: number[] = [];
    let last: { a: Awaited<ReturnType<typeof exported>>; b: Awaited<ReturnType<typeof exported>> } | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      const a = await timeMs(() => exported(true));
      const b = await timeMs(() => exported(false));
      if (a.value.text !== b.value.text) throw new Error('the two exports differ');
      if (a.value.calls !== CALLS + TASKS || a.value.tasks !== TASKS) throw new Error(`exported ${a.value.tasks} tasks and ${a.value.calls} calls; ${TASKS} and ${CALLS + TASKS} expected`);
      perItem.push(a.ms);
      paged.push(b.ms);
      last = { a: a.value, b: b.value };
    }
    return {
      tasks: TASKS,
      'tool calls': CALLS + TASKS,
      'export bytes': last!.a.text.length,
      'per-item ms': median(perItem),
      'paged ms': median(paged),
      'speed-up ×': median(perItem) / median(paged),
      'per-item requests': last!.a.requests,
      'paged requests': last!.b.requests,
      'per-item min at 600/min': last!.a.requests / 600,
    };
  } finally {
    await close();
    await upstream.close();
  }
}

async function main(): Promise<void> {
  if (PHASES.includes('events')) {
    console.log(`subject export, events phase: ${EVENTS} events, ${SUBJECT_EVENTS} the subject's, median of ${ROUNDS} (node ${process.version})`);
    const rows: Record<string, string | number>[] = [];
    for (const d of DIALECTS) {
      const row = await run(d);
      if (row) rows.push(row);
    }
    printTable(rows);
  }
  if (PHASES.includes('details')) {
    console.log(`subject export, details phase: ${TASKS} tasks and ${CALLS + TASKS} tool calls of the subject, sqlite, median of ${ROUNDS} (node ${process.version})`);
    printTable([await runDetails()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
