import { expect } from 'chai';
import { Registry } from 'prom-client';
import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { catalog } from '../../events';
import { eventsAfter } from '../../src/eventstore/events-after';
import { Projector } from '../../src/projector/projector';
import { defaultAppliers } from '../../projections';
import type { ProjectionApplier } from '../../projections/projection';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { mysqlAvailable, requireService } from '../support/services';
import { appendAndProject, appendWorkload, applyOnce, checkpointOf, openTestDb, snapshot, type Dialect, type TestDb } from './support';

async function runToHead(db: TestDb, projector: Projector): Promise<void> {
  const head = await db.store.headPosition();
  const rm = new SqlReadModels({ knex: db.knex, applied: projector.applied });
  expect(await rm.waitForPosition(head, 15_000), `position ${head} applied`).to.equal(true);
}

/** An applier that throws once it has seen `n` events: a crash between events, mid-transaction. */
function crashingAfter(n: number, inner: ProjectionApplier): ProjectionApplier {
  let seen = 0;
  return {
    name: inner.name,
    canHandle: inner.canHandle,
    async apply(trx, t, events, touched) {
      if (seen + events.length > n) throw new Error('simulated crash');
      seen += events.length;
      await inner.apply(trx, t, events, touched);
    },
  };
}

for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`projector on ${dialect}`, function () {
    let db: TestDb;
    before(async function () {
      if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
    });
    beforeEach(async () => {
      db = await openTestDb(dialect);
    });
    afterEach(async () => {
      await db?.close();
    });

    it('replaying the whole log twice gives identical read models', async () => {
      const events = await appendWorkload(db.store);
      const bus = new InProcessBus(db.store, new MemoryCheckpointStore(), { maxBatch: 7 });
      const projector = new Projector({ knex: db.knex, bus });
      await projector.start();
      await runToHead(db, projector);
      await projector.stop();
      const once = await snapshot(db.knex);
      expect(once.rm_audit_events).to.have.length(events.length);
      expect(once.rm_tasks).to.have.length(12);

      // The same log again (a group that lost its progress), and once more as one big batch.
      const again = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, new MemoryCheckpointStore(), { maxBatch: 3 }) });
      await again.start();
      await runToHead(db, again);
      await again.stop();
      await again.applyEvents(await db.store.readAll({ limit: 10_000 }));
      expect(await snapshot(db.knex)).to.deep.equal(once);
    });

    it('a projector killed between events resumes from its checkpoint without duplicates', async () => {
      await appendWorkload(db.store);
      const reference = await openTestDb('sqlite');
      try {
        await new Projector({ knex: reference.knex, bus: null as never }).applyEvents(await db.store.readAll({ limit: 10_000 }));
        const expected = await snapshot(reference.knex);

        const busCheckpoints = new MemoryCheckpointStore();
        const errors: unknown[] = [];
        const crashing = defaultAppliers().map((a) => (a.name === 'tasks' ? crashingAfter(9, a) : a));
        const first = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, busCheckpoints, { maxBatch: 4, onError: (e) => errors.push(e) }), appliers: crashing });
        await first.start();
        const deadline = Date.now() + 10_000;
        while (!errors.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        await first.stop();
        expect(errors, 'the crash happened').to.not.be.empty;
        const stoppedAt = await checkpointOf(db.knex, 'tasks');
        expect(stoppedAt, 'part of the log was applied').to.be.greaterThan(0);
        expect(stoppedAt).to.be.lessThan(await db.store.headPosition());

        const second = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, busCheckpoints, { maxBatch: 4 }) });
        await second.start();
        await runToHead(db, second);
        await second.stop();
        expect(await snapshot(db.knex)).to.deep.equal(expected);
        expect(await checkpointOf(db.knex, 'tasks')).to.equal(await db.store.headPosition());
      } finally {
        await reference.close();
      }
    });

    it('reports a failing batch to onError while the bus retries it, then applies it', async () => {
      const events = await appendWorkload(db.store, 2);
      const errors: unknown[] = [];
      let failures = 2;
      const flaky: ProjectionApplier[] = defaultAppliers().map((a) => ({
        ...a,
        apply: async (trx, t, evs, touched) => {
          if (a.name === 'tasks' && failures > 0) {
            failures--;
            throw new Error('database went away');
          }
          await a.apply(trx, t, evs, touched);
        },
      }));
      const projector = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, new MemoryCheckpointStore()), appliers: flaky, onError: (e) => errors.push(e) });
      await projector.start();
      await runToHead(db, projector);
      await projector.stop();
      expect(errors.map((e) => (e as Error).message.replace(/^projection tasks could not apply .*: /, ''))).to.deep.equal(['database went away', 'database went away']);
      expect((await snapshot(db.knex)).rm_audit_events).to.have.length(events.length);
    });

    it('names the projection and the events of a batch it cannot apply (a poison event), writes nothing of it, and reports it each time it is retried', async () => {
      const stream = `task-${newId()}`;
      const at = (position: number, e: ReturnType<typeof createEvent>) => ({ ...e, revision: 0, position }) as RecordedEvent;
      const good = at(40, createEvent({ type: 'TaskSubmitted', stream: `task-${newId()}`, tenant: 'acme', actor: { kind: 'system', id: 't' }, data: { steps: [] } }));
      // As another producer on the topic could have written it: an agent id longer than the log
      // accepts (200), which MariaDB's rm_tasks.agent_id refuses; SQLite would store it, so there
      // the tasks projection is made to refuse it.
      const poison = at(41, createEvent({ type: 'TaskSubmitted', stream, tenant: 'acme', actor: { kind: 'system', id: 't' }, data: { steps: [], agentId: 'x'.repeat(300) } }));
      const appliers: ProjectionApplier[] =
        dialect === 'mysql'
          ? defaultAppliers()
          : defaultAppliers().map((a) => (a.name !== 'tasks' ? a : { ...a, apply: async (trx, t, evs, touched) => (evs.some((e) => e.id === poison.id) ? Promise.reject(new Error("Data too long for column 'agent_id'")) : a.apply(trx, t, evs, touched)) }));
      const errors: unknown[] = [];
      const projector = new Projector({ knex: db.knex, bus: null as never, appliers, onError: (e) => errors.push(e) });

      const alone = await projector.applyEvents([poison]).then(() => undefined, (e: unknown) => e);
      expect(alone).to.include({ code: 'PROJECTION_FAILED' });
      expect((alone as Error).message).to.equal(`projection tasks could not apply event ${poison.id} (TaskSubmitted in ${stream}) at position 41: Data too long for column 'agent_id'${dialect === 'mysql' ? ' at row 1' : ''}`);
      expect((alone as { details: unknown }).details).to.deep.include({ projection: 'tasks', firstPosition: 41, lastPosition: 41, events: 1 });

      const inBatch = await projector.applyEvents([good, poison]).then(() => undefined, (e: unknown) => e);
      expect((inBatch as Error).message).to.match(/^projection tasks could not apply 2 events at positions 40\.\.41 \(the first TaskSubmitted in task-/);
      expect(errors, 'each failure reported').to.have.length(2);
      expect(await db.knex('rm_audit_events').whereIn('position', [40, 41]).count({ n: '*' }).first()).to.deep.equal({ n: 0 });
      expect(await checkpointOf(db.knex, 'tasks')).to.equal(undefined);
    });

    it('projects the largest MCP server registration the log accepts (a too-small column would stop every read model)', async () => {
      // Control characters take 6 bytes each once JSON-encoded, and '€' 3 bytes in utf8mb4.
      const data = {
        name: 'big',
        transport: 'stdio',
        command: '€'.repeat(2000),
        args: Array.from({ length: 100 }, (_, i) => (i % 2 ? '\u0001' : '€').repeat(4000)),
        envKeys: Array.from({ length: 100 }, () => '\u0001'.repeat(200)),
      };
      catalog.validate('McpServerRegistered', 1, data);
      const stream = `mcpserver-${newId()}`;
      const r = await db.store.append(stream, [createEvent({ type: 'McpServerRegistered', stream, tenant: 'acme', actor: { kind: 'user', id: 'u' }, data })]);
      await applyOnce(db, r.events);
      const row = await db.knex('rm_mcp_servers').where({ id: stream.slice('mcpserver-'.length) }).first('args_json', 'env_keys_json', 'command');
      expect(JSON.parse(row.args_json)).to.deep.equal(data.args);
      expect(JSON.parse(row.env_keys_json)).to.deep.equal(data.envKeys);
      expect(row.command).to.equal(data.command);
    });

    it('projects a discovery that lists one tool name twice (as an earlier gateway could record it): the first is kept', async () => {
      const stream = `mcpserver-${newId()}`;
      const actor = { kind: 'user' as const, id: 'u' };
      const t = (name: string, description: string) => ({ name, description, inputSchemaJson: '{"type":"object"}' });
      const events = [
        createEvent({ type: 'McpServerRegistered', stream, tenant: 'acme', actor, data: { name: 'dup', transport: 'http', url: 'http://127.0.0.1:9/mcp' } }),
        createEvent({ type: 'McpServerToolsDiscovered', stream, tenant: 'acme', actor, data: { tools: [t('search', 'first'), t('other', 'o'), t('search', 'second')], toolsHash: `0x${'0'.repeat(64)}` } }),
      ];
      await appendAndProject(db, stream, events);
      const rows = await db.knex('rm_mcp_tools').where({ server_id: stream.slice('mcpserver-'.length) }).orderBy('name').select('name', 'description');
      expect(rows).to.deep.equal([{ name: 'other', description: 'o' }, { name: 'search', description: 'first' }]);
    });

    it('projects a backlog of large tool calls in one batch (MySQL takes a statement as one packet, 16 MiB by default)', async function () {
      this.timeout(60_000);
      const actor = { kind: 'user' as const, id: 'u' };
      const big = JSON.stringify({ blob: 'y'.repeat(250_000) });
      const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
      const events: RecordedEvent[] = [];
      for (let i = 0; i < 80; i++) {
        const stream = `toolcall-${newId()}`;
        const data = { serverId: 's1', server: 'files', tool: 'read', argumentsHash: hash(i), argumentsJson: big, payloadPolicy: 'store' };
        events.push(...(await db.store.append(stream, [createEvent({ type: 'ToolCallRequested', stream, tenant: 'acme', actor, data })])).events);
      }
      // About 20 MB in one batch: the audit-log rows alone, 200 to a statement before, were one packet over the limit.
      await applyOnce(db, events);
      const counted = async (table: string) => Number((await db.knex(table).whereIn('id', events.map((e) => e.id)).count({ n: '*' }))[0].n);
      expect(await counted('rm_audit_events')).to.equal(80);
    });

    it('projects tasks with steps, tool calls, batches and the audit log; exposes lag', async () => {
      const events = await appendWorkload(db.store, 8);
      const registry = new Registry();
      const projector = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, new MemoryCheckpointStore()), registry, eventsAfter: (p) => eventsAfter(db.store, p) });
      await projector.start();
      await runToHead(db, projector);
      await projector.stop();
      const rm = new SqlReadModels({ knex: db.knex });
      const page = await rm.listTasks('acme', { limit: 100 });
      const done = page.items.find((t) => t.status === 'completed')!;
      expect(done.steps).to.have.length(1);
      expect(done.steps[0]).to.include({ status: 'completed', tool: 'examples__echo', latencyMs: 2 });
      expect(done.steps[0].toolCallId).to.be.a('string');
      const pending = page.items.find((t) => t.status === 'submitted')!;
      expect(pending.steps[0]).to.include({ status: 'pending', tool: 'examples__echo' });
      const audit = await rm.listAuditEvents(null, { limit: 1000 });
      expect(audit.items.map((e) => e.position)).to.deep.equal(events.map((e) => e.position));
      const sealed = events.find((e) => e.type === 'BatchSealed')!;
      expect(audit.items[0]).to.include({ seq: 0, batchId: 0 });
      expect(audit.items.find((e) => e.position === sealed.position)!.batchId).to.equal(undefined);
      expect(await rm.getBatch(0)).to.deep.include({ id: 0, firstSeq: 0, anchor: { chainId: 31337, contract: `0x${'c'.repeat(40)}`, txHash: `0x${'7'.padStart(64, '0')}`, blockNumber: 5, gasUsed: '50000', anchoredAt: events.find((e) => e.type === 'BatchAnchored')!.occurredAt } });
      const tools = await rm.listToolCatalog('acme');
      expect(tools.map((t) => t.name)).to.deep.equal(['examples__echo']);
      expect(tools[0].health).to.equal('up');
      const metrics = await registry.getSingleMetricAsString('openmcp_projection_lag_events');
      expect(metrics).to.match(/openmcp_projection_lag_events\{projection="tasks"\} 0/);
    });
  });
}
