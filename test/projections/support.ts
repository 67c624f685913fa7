import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { createEvent, type PendingEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openKnex } from '../../src/db/knex';
import { sqlEventStoreOn } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { LIVE_TABLES, CHECKPOINT_TABLE } from '../../projections/tables';
import { catalog } from '../../events';
import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { Projector } from '../../src/projector/projector';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { createMigratedTestDatabase } from '../support/migrated-template';
import { dialectOf } from '../../src/db/knex';

export type Dialect = 'sqlite' | 'mysql';
export type TestDb = { knex: Knex; store: EventStore; close(): Promise<void> };

/** A migrated database (fresh SQLite file or fresh MariaDB database) with a SQL event store on it. */
export async function openTestDb(dialect: Dialect): Promise<TestDb> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'omc-proj-'));
    const knex = await openKnex(`sqlite:${join(dir, 'rm.db')}`);
    await migrateLatest(knex);
    const store = sqlEventStoreOn(knex, { pollIntervalMs: 20 });
    return { knex, store, close: async () => { await store.close(); await knex.destroy(); rmSync(dir, { recursive: true, force: true }); } };
  }
  // As migrateLatest leaves a fresh database, copied from one the file migrated once.
  const db = await createMigratedTestDatabase('omc_proj');
  const knex = await openKnex(db.url);
  const store = sqlEventStoreOn(knex, { pollIntervalMs: 20 });
  return { knex, store, close: async () => { await store.close(); await knex.destroy(); await db.drop(); } };
}

/** Apply `events` once with a projector of their own (its bus never polled), stopped after. */
export async function applyOnce(db: TestDb, events: RecordedEvent[]): Promise<void> {
  const projector = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, new MemoryCheckpointStore()) });
  try {
    await projector.applyEvents(events);
  } finally {
    await projector.stop();
  }
}

/** Check `events` against the event catalog, append them to `stream` and apply them once (applyOnce). */
export async function appendAndProject(db: TestDb, stream: string, events: PendingEvent[]): Promise<RecordedEvent[]> {
  for (const e of events) catalog.validate(e.type, e.version, e.data);
  const r = await db.store.append(stream, events);
  await applyOnce(db, r.events);
  return r.events;
}

const actor = { kind: 'system' as const, id: 'test' };
const h = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
const ev = (type: string, stream: string, tenant: string, data: Record<string, unknown>): PendingEvent => createEvent({ type, stream, tenant, actor, data });

/**
 * A mixed workload: tasks through their lifecycles with step runs, gateway tool calls, MCP
 * servers with tool catalogs (one shared "*"), and sealed/anchored batches over earlier events.
 */
export async function appendWorkload(store: EventStore, tasks = 12): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  const push = async (stream: string, events: PendingEvent[]) => out.push(...(await store.append(stream, events)).events);
  const server = newId();
  const shared = newId();
  await push(`mcpserver-${server}`, [
    ev('McpServerRegistered', `mcpserver-${server}`, 'acme', { name: 'examples', transport: 'stdio', command: 'node' }),
    ev('McpServerToolsDiscovered', `mcpserver-${server}`, 'acme', { tools: [{ name: 'echo', inputSchemaJson: '{"type":"object"}' }], toolsHash: h(1) }),
  ]);
  await push(`mcpserver-${shared}`, [ev('McpServerRegistered', `mcpserver-${shared}`, '*', { name: 'shared', transport: 'http', url: 'http://x' })]);
  for (let i = 0; i < tasks; i++) {
    const id = newId();
    const tenant = i % 3 === 0 ? 'globex' : 'acme';
    const stream = `task-${id}`;
    await push(stream, [ev('TaskSubmitted', stream, tenant, { steps: [{ tool: 'examples__echo', arguments: { text: `hi ${i}` } }], agentId: `agent-${i % 2}` })]);
    if (i % 4 === 3) continue;
    await push(stream, [ev('TaskStarted', stream, tenant, {}), ev('TaskStepStarted', stream, tenant, { stepId: 's0', index: 0, tool: 'examples__echo', argumentsHash: h(2), source: 'steps', idempotent: true })]);
    const call = `toolcall-${newId()}`;
    const ref = { serverId: server, server: 'examples', tool: 'echo', taskId: id };
    await push(call, [ev('ToolCallRequested', call, tenant, { ...ref, argumentsHash: h(2), payloadPolicy: 'hash-only' })]);
    await push(call, [ev('ToolCallCompleted', call, tenant, { ...ref, resultHash: h(3), resultJson: '{"text":"hi"}', isError: false, cached: false, latencyUs: 1500 })]);
    await push(stream, [ev('TaskStepCompleted', stream, tenant, { stepId: 's0', resultHash: h(3), resultJson: `{"text":"hi ${i}"}`, isError: false })]);
    if (i % 4 === 2) await push(stream, [ev('TaskFailed', stream, tenant, { error: { code: 'X', message: 'boom' } })]);
    else await push(stream, [ev('TaskCompleted', stream, tenant, { output: { n: i } })]);
    if (i === 5) {
      const last = out[out.length - 1].position;
      await push('batch-0', [ev('BatchSealed', 'batch-0', 'system', { batchId: 0, firstSeq: 0, lastSeq: last, firstPosition: 0, lastPosition: last, root: h(9), prevRoot: h(0), signer: `0x${'a'.repeat(40)}`, signature: `0x${'b'.repeat(130)}` })]);
      await push('batch-0', [ev('BatchAnchored', 'batch-0', 'system', { batchId: 0, firstSeq: 0, lastSeq: last, root: h(9), chainId: 31337, contract: `0x${'c'.repeat(40)}`, txHash: h(7), blockNumber: 5, gasUsed: 50000 })]);
    }
  }
  await push(`mcpserver-${server}`, [ev('McpServerHealthChanged', `mcpserver-${server}`, 'acme', { status: 'up' })]);
  return out;
}

/** Every read-model table, rows sorted, for comparing two read models. */
export async function snapshot(knex: Knex): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of Object.values(LIVE_TABLES)) {
    const rows = await knex(table).select();
    out[table] = rows.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k] === null ? null : String(r[k])]))).sort();
  }
  return out;
}

export async function checkpointOf(knex: Knex, projection: string): Promise<number | undefined> {
  const row = await knex(CHECKPOINT_TABLE).where('projection', projection).first();
  return row ? Number(row.position) : undefined;
}

/** `read()` once `ok` holds for its value, polled every 50 ms; fails naming `what` and the last value after `ms`. */
export async function eventually<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await read();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}

/** A backup of a MariaDB database: `restore()` puts it back as it was when it was taken. */
export type DatabaseBackup = { restore(): Promise<void>; drop(): Promise<void> };

/** Throws when this machine has no mariadb-dump (use with requireService). */
export async function mariadbDumpInstalled(): Promise<void> {
  const r = spawnSync('mariadb-dump', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mariadb-dump not runnable: ${r.error?.message ?? r.stderr}`);
}

/**
 * Dump the MariaDB database under `knex` with mariadb-dump (event store, read models,
 * checkpoints, the cache epoch; triggers included), as an operator's backup does; `restore()`
 * loads that dump back with the mariadb client, dropping and recreating every table.
 */
export async function backupDatabase(knex: Knex): Promise<DatabaseBackup> {
  if (dialectOf(knex) !== 'mysql') throw new Error('backupDatabase: MariaDB only');
  const c = knex.client.config.connection as { host: string; port?: number; user: string; password?: string; database: string };
  const args = ['-h', c.host, '-P', String(c.port ?? 3306), '-u', c.user, ...(c.password ? [`-p${c.password}`] : [])];
  const dir = mkdtempSync(join(tmpdir(), 'omc-dump-'));
  const file = join(dir, 'dump.sql');
  const run = (cmd: string, a: string[], input?: string) => {
    const r = spawnSync(cmd, a, { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.error?.message ?? r.stderr}`);
    return r.stdout;
  };
  writeFileSync(file, run('mariadb-dump', [...args, '--single-transaction', '--triggers', c.database]));
  return {
    async restore() {
      run('mariadb', [...args, c.database], readFileSync(file, 'utf8'));
    },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Actor = PendingEvent['actor'];
/** An event `ProjectedReadModels.record` appends: of tenant acme, by the agent unless it names its actor. */
export type EventToRecord = { type: string; version?: number; data: Record<string, unknown>; actor?: Actor };
export type ProjectedReadModels = {
  /** The database; its close() stops the projector first. */
  db: TestDb;
  projector: Projector;
  rm: SqlReadModels;
  /** Append `events` to `stream` and wait until the read models show them; the position of the last. */
  record(stream: string, events: EventToRecord[]): Promise<number>;
};

const RECORDING_AGENT: Actor = { kind: 'agent', id: 'agent-1' };

/**
 * A migrated database (openTestDb) with a projector following its store and SqlReadModels over
 * it: the read-model tests' setup for each test.
 * @example let db: TestDb; let rm: SqlReadModels; beforeEach(async () => ({ db, rm } = await openProjectedReadModels('sqlite'))); afterEach(() => db.close());
 */
export async function openProjectedReadModels(dialect: Dialect): Promise<ProjectedReadModels> {
  const opened = await openTestDb(dialect);
  const projector = new Projector({ knex: opened.knex, bus: new InProcessBus(opened.store, new MemoryCheckpointStore()) });
  try {
    await projector.start();
  } catch (err) {
    await opened.close();
    throw err;
  }
  const rm = new SqlReadModels({ knex: opened.knex, applied: projector.applied });
  const db: TestDb = { ...opened, close: async () => { try { await projector.stop(); } finally { await opened.close(); } } };
  return {
    db,
    projector,
    rm,
    async record(stream, events) {
      const r = await opened.store.append(stream, events.map((e) => createEvent({ type: e.type, version: e.version, stream, tenant: 'acme', actor: e.actor ?? RECORDING_AGENT, data: e.data })));
      if (!(await rm.waitForPosition(r.position, 5000))) throw new Error(`position ${r.position} of ${stream} not projected within 5 s`);
      return r.position;
    },
  };
}
