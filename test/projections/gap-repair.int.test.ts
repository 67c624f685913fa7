import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { Bus } from '../../src/bus/port';
import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { MemoryCache } from '../../src/cache/memory';
import type { Cache } from '../../src/cache/port';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import type { EventStore } from '../../src/eventstore/port';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { GAP_REPAIRS_METRIC, GapRepair, rebuildCommands, REPLAY_ATTEMPTS, type GapRepairOptions, type RepairedOutOfOrder } from '../../src/projector/gap-repair';
import { Projector } from '../../src/projector/projector';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { mysqlAvailable, requireService } from '../support/services';
import { openTestDb, type Dialect, type TestDb } from './support';

const actor = { kind: 'user' as const, id: 'u' };
const BOUND_MS = 60_000;

/** The in-process bus, except that it never delivers the events `lost` picks: gone from Kafka (retention, a recreated topic, an unclean leader election). */
function losingBus(inner: Bus, lost: (e: RecordedEvent) => boolean): Bus {
  return {
    name: 'losing',
    consume: (group, handler, options) => inner.consume(group, (events) => handler(events.filter((e) => !lost(e))), options),
    close: () => inner.close(),
  };
}

for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`an event the bus never delivers is repaired from the event store (${dialect})`, function () {
    this.timeout(60_000);
    let db: TestDb;
    let projector: Projector;
    let rm: SqlReadModels;
    let registry: Registry;
    let now: number;
    let a: string;
    let lostPosition: number;
    let lostPositions: number[];
    let head: number;
    const repaired: number[][] = [];
    const held: string[] = [];
    const outOfOrder: RepairedOutOfOrder[] = [];
    const replayed: RepairedOutOfOrder[] = [];
    /** Positions told shown (onShown), one list per call. */
    const shown: number[][] = [];

    before(async function () {
      if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
    });

    /** A fresh database and projector (keeping `cache` current, read through by `rm`) whose bus never delivers the events `lost` picks; a's and b's tasks submitted, started and completed. */
    async function setUp(lost: (e: RecordedEvent) => boolean, cache?: Cache): Promise<void> {
      db = await openTestDb(dialect);
      a = `task-${newId()}`;
      const b = `task-${newId()}`;
      repaired.length = 0;
      held.length = 0;
      outOfOrder.length = 0;
      replayed.length = 0;
      shown.length = 0;
      registry = new Registry();
      now = Date.parse('2026-12-11T10:00:00Z');
      lostPositions = [];
      projector = new Projector({ knex: db.knex, bus: losingBus(new InProcessBus(db.store, new MemoryCheckpointStore()), lost), cache });
      await projector.start();
      rm = new SqlReadModels({ knex: db.knex, cache, applied: projector.applied, gapFreePositions: true });
      for (const [type, data] of [['TaskSubmitted', { instruction: 'x' }], ['TaskStarted', {}], ['TaskCompleted', { output: 'done' }]] as const) {
        for (const stream of [a, b]) {
          const r = await db.store.append(stream, [createEvent({ type, stream, tenant: 'acme', actor, data })]);
          head = r.position;
          if (lost(r.events[0])) lostPositions.push(r.position);
        }
      }
      lostPosition = lostPositions[0];
      expect(await rm.waitForPosition(head, 10_000), 'every event after the lost one is applied').to.equal(true);
    }

    afterEach(async () => {
      await projector?.stop();
      await db?.close();
    });

    /** The repair every test uses, recording what it reports; `overrides` changes what a test needs changed. */
    const repairOf = (overrides: Partial<GapRepairOptions> = {}) =>
      new GapRepair({
        knex: db.knex,
        store: db.store,
        apply: (events) => projector.applyEvents(events),
        replay: (events) => projector.replayStream(events),
        afterMs: BOUND_MS,
        clock: () => new Date(now),
        registry,
        onRepaired: (positions) => repaired.push(positions),
        onHeld: (_position, reason) => held.push(reason),
        onReplayed: (events) => replayed.push(...events),
        onOutOfOrder: (events) => outOfOrder.push(...events),
        onShown: (events) => shown.push(events.map((e) => e.position)),
        ...overrides,
      });
    const listed = async () => (await rm.listAuditEvents(null, { limit: 100 })).items.map((e) => e.position);
    const counted = async (outcome: string) => (await registry.getSingleMetric(GAP_REPAIRS_METRIC)!.get()).values.find((v) => v.labels.outcome === outcome)?.value;

    describe("a task's last event lost", () => {
      // a's TaskCompleted is lost on the way; every event after it is delivered.
      beforeEach(() => setUp((e) => e.stream === a && e.type === 'TaskCompleted'));

      it('holds the list at the lost position until it has been missing for the bound, then applies it through the projector: the list, the task and read-your-writes catch up', async () => {
        const all = Array.from({ length: head - lostPosition + 1 }, (_, i) => lostPosition + i);
        const before = await listed();
        expect(before[before.length - 1], 'held right before the lost position').to.equal(lostPosition - 1);
        expect((await rm.getTask('acme', a.slice('task-'.length)))?.status).to.equal('running');

        const repair = repairOf();
        await repair.check();
        now += BOUND_MS - 1;
        await repair.check();
        expect(repaired, 'nothing repaired within the bound (a partition may only be late)').to.deep.equal([]);
        expect((await listed())[before.length - 1]).to.equal(lostPosition - 1);
        expect(await listed()).to.have.length(before.length);

        now += 1;
        await repair.check();
        expect(repaired).to.deep.equal([[lostPosition]]);
        expect(shown, 'told shown once applied (its live notice goes out again)').to.deep.equal([[lostPosition]]);
        expect(await counted('repaired')).to.equal(1);
        const after = await listed();
        expect(after, 'every event, in position order').to.deep.equal([...before, ...all]);
        expect((await rm.getTask('acme', a.slice('task-'.length)))?.status).to.equal('completed');
        expect(await rm.waitForPosition(lostPosition, 0)).to.equal(true);

        // Done: a later check finds nothing to repair.
        now += BOUND_MS;
        await repair.check();
        expect(repaired).to.have.length(1);
        expect(held).to.deep.equal([]);
        expect(outOfOrder, 'no later event of its stream was applied before it').to.deep.equal([]);
        expect(replayed).to.deep.equal([]);
        expect(await counted('repaired_out_of_order')).to.equal(0);
      });

      it('keeps holding, and says so, when the event store does not give the event back either, or gives it with a hash that does not check', async () => {
        const missing: Pick<EventStore, 'readAll' | 'readStream' | 'gapFreePositions' | 'headPosition'> = { gapFreePositions: true, headPosition: () => db.store.headPosition(), readAll: async (o) => (await db.store.readAll(o)).filter((e) => e.position !== lostPosition), readStream: (s, o) => db.store.readStream(s, o) };
        const tampered: Pick<EventStore, 'readAll' | 'readStream' | 'gapFreePositions' | 'headPosition'> = {
          gapFreePositions: true,
          headPosition: () => db.store.headPosition(),
          readStream: (s, o) => db.store.readStream(s, o),
          readAll: async (o) => (await db.store.readAll(o)).map((e) => (e.position === lostPosition ? { ...e, data: { output: 'forged' } } : e)),
        };
        const before = await listed();
        for (const [store, outcome, words] of [
          [missing, 'missing_from_store', /not in the event store/],
          [tampered, 'hash_mismatch', /hash/],
        ] as const) {
          const repair = repairOf({ store });
          held.length = 0;
          await repair.check();
          now += BOUND_MS;
          await repair.check();
          expect(held, outcome).to.have.length(1);
          expect(held[0]).to.match(words).and.to.contain(String(lostPosition));
          expect(await counted(outcome)).to.equal(1);
          expect(await listed(), 'still held, nothing skipped').to.deep.equal(before);
          // Tried again only after another bound, not at every check.
          now += BOUND_MS - 1;
          await repair.check();
          expect(held).to.have.length(1);
          now += 1;
          await repair.check();
          expect(held).to.have.length(2);
          expect(await counted(outcome)).to.equal(2);
        }
        expect(repaired).to.deep.equal([]);
        expect(await counted('repaired')).to.equal(0);
      });
    });

    const LOST_START = ['TaskSubmitted', 'TaskStarted', 'TaskStepStarted'];

    /** Task stream `c` with one step: submitted, started, step started and completed, completed. The positions of its first three events. */
    async function appendTaskWithStep(c: string): Promise<number[]> {
      const hash = `0x${'ab'.repeat(32)}`;
      const r = await db.store.append(c, [
        createEvent({ type: 'TaskSubmitted', stream: c, tenant: 'acme', actor, data: { steps: [{ tool: 'srv__echo', arguments: { x: 1 } }] } }),
        createEvent({ type: 'TaskStarted', stream: c, tenant: 'acme', actor, data: {} }),
        createEvent({ type: 'TaskStepStarted', stream: c, tenant: 'acme', actor, data: { stepId: 's1', index: 0, tool: 'srv__echo', argumentsHash: hash, argumentsJson: '{"x":1}', source: 'steps', idempotent: true } }),
        createEvent({ type: 'TaskStepCompleted', stream: c, tenant: 'acme', actor, data: { stepId: 's1', resultHash: hash, resultJson: '{"ok":true}', isError: false } }),
        createEvent({ type: 'TaskCompleted', stream: c, tenant: 'acme', actor, data: { output: 'done' } }),
      ]);
      expect(await rm.waitForPosition(r.position, 10_000), 'the delivered end of the stream is applied').to.equal(true);
      return r.events.slice(0, LOST_START.length).map((e) => e.position);
    }

    it('rebuilds from the event store the documents of a stream a later event of which was applied first (the start of a task lost, its end delivered): the task shows completed with its steps, without a rebuild', async () => {
      // As Kafka's retention loses events: the start of the partition's log, c's TaskSubmitted, TaskStarted and TaskStepStarted; its TaskStepCompleted and TaskCompleted are delivered (and passed over: no task, no step yet).
      const c = `task-${newId()}`;
      const cache = new MemoryCache();
      await setUp((e) => e.stream === c && LOST_START.includes(e.type), cache);
      lostPositions = await appendTaskWithStep(c);
      const id = c.slice('task-'.length);
      expect(await rm.getTask('acme', id)).to.equal(undefined);

      const repair = repairOf();
      await repair.check();
      now += BOUND_MS;
      await repair.check();
      expect(repaired).to.deep.equal([lostPositions]);
      // Read through the cache, which the repair's own batch filled with the task as running.
      const task = await rm.getTask('acme', id);
      expect(task?.status, 'every event of the stream folded in order').to.equal('completed');
      expect(task?.output).to.equal('done');
      expect(task?.steps.map((s) => ({ status: s.status, tool: s.tool })), 'its step as run, completed').to.deep.equal([{ status: 'completed', tool: 'srv__echo' }]);
      expect(replayed, 'each such position, its stream and the read models rebuilt').to.deep.equal(
        lostPositions.map((position, i) => ({ position, stream: c, projections: [i < 2 ? 'tasks' : 'task-steps'] })),
      );
      expect(outOfOrder, 'nothing left to rebuild').to.deep.equal([]);
      expect(shown, 'told shown once the stream is rebuilt').to.deep.equal([lostPositions]);
      expect(await counted('replayed_stream'), 'each event applied after a later one of its stream').to.equal(3);
      expect(await counted('repaired_out_of_order')).to.equal(0);
      expect(await counted('repaired')).to.equal(0);
    });

    it("rebuilds an MCP server whose registration was lost and whose tools were delivered: the catalog lists its tools, in the cache too", async () => {
      const server = newId();
      const stream = `mcpserver-${server}`;
      const cache = new MemoryCache();
      await setUp((e) => e.stream === stream && e.type === 'McpServerRegistered', cache);
      const r = await db.store.append(stream, [
        createEvent({ type: 'McpServerRegistered', stream, tenant: 'acme', actor, data: { name: 'srv', transport: 'http', url: 'http://127.0.0.1:1/mcp' } }),
        createEvent({ type: 'McpServerToolsDiscovered', stream, tenant: 'acme', actor, data: { tools: [{ name: 'read', inputSchemaJson: '{"type":"object"}' }], toolsHash: `0x${'1'.repeat(64)}` } }),
        createEvent({ type: 'McpServerHealthChanged', stream, tenant: 'acme', actor, data: { status: 'up' } }),
      ]);
      expect(await rm.waitForPosition(r.position, 10_000)).to.equal(true);
      expect(await rm.listToolCatalog('acme'), 'tools passed over: no server yet').to.deep.equal([]);

      const repair = repairOf();
      await repair.check();
      now += BOUND_MS;
      await repair.check();
      const catalog = await rm.listToolCatalog('acme');
      expect(catalog.map((t) => ({ upstreamName: t.upstreamName, serverId: t.serverId, health: t.health }))).to.deep.equal([{ upstreamName: 'read', serverId: server, health: 'up' }]);
      expect(replayed).to.deep.equal([{ position: r.events[0].position, stream, projections: ['mcp-servers'] }]);
      expect(await counted('replayed_stream')).to.equal(1);
    });

    it('says which read models to rebuild when the stream cannot be read back whole (an event of it does not match its hash), and leaves the rest repaired', async () => {
      const c = `task-${newId()}`;
      await setUp((e) => e.stream === c && LOST_START.includes(e.type));
      lostPositions = await appendTaskWithStep(c);
      const tamperedStream: Pick<EventStore, 'readAll' | 'readStream' | 'gapFreePositions' | 'headPosition'> = {
        gapFreePositions: true,
        readAll: (o) => db.store.readAll(o),
        headPosition: () => db.store.headPosition(),
        readStream: async (s, o) => (await db.store.readStream(s, o)).map((e) => (e.type === 'TaskCompleted' ? { ...e, data: { output: 'forged' } } : e)),
      };
      const repair = repairOf({ store: tamperedStream });
      await repair.check();
      now += BOUND_MS;
      await repair.check();
      expect(repaired, 'the lost positions are applied all the same').to.deep.equal([lostPositions]);
      expect(await listed()).to.include.members(lostPositions);
      // TaskSubmitted and TaskStarted folded after TaskCompleted had been passed over: running, not completed.
      expect((await rm.getTask('acme', c.slice('task-'.length)))?.status).to.equal('running');
      expect(replayed).to.deep.equal([]);
      expect(outOfOrder.map(({ position, stream, projections }) => ({ position, stream, projections }))).to.deep.equal(
        lostPositions.map((position, i) => ({ position, stream: c, projections: [i < 2 ? 'tasks' : 'task-steps'] })),
      );
      for (const e of outOfOrder) expect(e.reason).to.match(/does not match its hash/);
      expect(await counted('repaired_out_of_order')).to.equal(3);
      expect(await counted('replayed_stream')).to.equal(0);
    });

    it('rebuilds a stream the bus applies a later event of while the repair runs, between its check for later events and its own apply', async () => {
      const c = `task-${newId()}`;
      const cache = new MemoryCache();
      await setUp((e) => e.stream === c && e.type !== 'TaskCompleted', cache);
      const lost = await db.store.append(c, [
        createEvent({ type: 'TaskSubmitted', stream: c, tenant: 'acme', actor, data: { instruction: 'x' } }),
        createEvent({ type: 'TaskStarted', stream: c, tenant: 'acme', actor, data: {} }),
      ]);
      // A delivered event after them, so that they are overdue below the head.
      const d = `task-${newId()}`;
      const after = await db.store.append(d, [createEvent({ type: 'TaskSubmitted', stream: d, tenant: 'acme', actor, data: { instruction: 'x' } })]);
      expect(await rm.waitForPosition(after.position, 10_000)).to.equal(true);
      const repair = new GapRepair({
        knex: db.knex,
        store: db.store,
        apply: async (events) => {
          // The task ends now: the bus applies TaskCompleted (passed over: no task yet) before the repair's own apply.
          const done = await db.store.append(c, [createEvent({ type: 'TaskCompleted', stream: c, tenant: 'acme', actor, data: { output: 'done' } })]);
          expect(await rm.waitForPosition(done.position, 10_000)).to.equal(true);
          await projector.applyEvents(events);
        },
        replay: (events) => projector.replayStream(events),
        afterMs: BOUND_MS,
        clock: () => new Date(now),
        registry,
        onReplayed: (events) => replayed.push(...events),
        onOutOfOrder: (events) => outOfOrder.push(...events),
      });
      await repair.check();
      now += BOUND_MS;
      await repair.check();
      expect((await rm.getTask('acme', c.slice('task-'.length)))?.status, 'every event of the stream folded in order').to.equal('completed');
      expect(replayed.map((x) => x.position)).to.deep.equal(lost.events.map((e) => e.position));
      expect(outOfOrder).to.deep.equal([]);
    });

    describe("a stream's replay failing on the database", () => {
      const DELETE_TRIGGER = 'omc_test_refuse_task_delete';
      /**
       * The projector's database refuses the replay's write (it deletes the task first) as it does
       * for a moment (MariaDB: a deadlock, raised by a trigger; SQLite: another connection holding
       * the write lock, SQLITE_BUSY), or for good (a trigger raising a plain error). Undone by the returned function.
       */
      async function refuseReplayWrites(how: 'for a moment' | 'for good'): Promise<() => Promise<void>> {
        if (how === 'for a moment' && dialect === 'sqlite') {
          const file = (db.knex.client.config.connection as { filename: string }).filename;
          const other = new Database(file);
          other.exec('BEGIN IMMEDIATE');
          return async () => {
            other.exec('ROLLBACK');
            other.close();
          };
        }
        if (dialect === 'sqlite') await db.knex.raw(`CREATE TRIGGER ${DELETE_TRIGGER} BEFORE DELETE ON rm_tasks BEGIN SELECT RAISE(ABORT, 'replay refused by a test trigger'); END`);
        else {
          const signal = how === 'for good' ? "SQLSTATE '45000' SET MESSAGE_TEXT = 'replay refused by a test trigger'" : "SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'Deadlock found when trying to get lock; try restarting transaction'";
          await db.knex.raw(`CREATE TRIGGER ${DELETE_TRIGGER} BEFORE DELETE ON rm_tasks FOR EACH ROW SIGNAL ${signal}`);
        }
        return async () => void (await db.knex.raw(`DROP TRIGGER ${DELETE_TRIGGER}`));
      }

      let c: string;
      let replays: number;
      let retries: Array<{ failures: number; retryInMs: number; reason: string }>;
      let replayErrors: unknown[];
      /** The repair, whose replays fail while `failing()` (the database refusing them as `how` says). */
      function failingRepair(how: 'for a moment' | 'for good', failing: () => boolean): GapRepair {
        replays = 0;
        retries = [];
        replayErrors = [];
        return repairOf({
          replay: async (events) => {
            replays++;
            if (!failing()) return projector.replayStream(events);
            const undo = await refuseReplayWrites(how);
            try {
              return await projector.replayStream(events);
            } finally {
              await undo();
            }
          },
          onReplayRetry: (_events, reason, retryInMs, failures) => retries.push({ failures, retryInMs, reason }),
          onReplayError: (err) => replayErrors.push(err),
        });
      }

      beforeEach(async () => {
        c = `task-${newId()}`;
        await setUp((e) => e.stream === c && LOST_START.includes(e.type));
        lostPositions = await appendTaskWithStep(c);
      });

      /** The check that finds the lost start overdue and applies it (and tries the replay once). */
      async function firstRepair(repair: GapRepair): Promise<void> {
        await repair.check();
        now += BOUND_MS;
        await repair.check();
        expect(repaired, 'the lost positions are applied all the same').to.deep.equal([lostPositions]);
      }
      const status = async () => (await rm.getTask('acme', c.slice('task-'.length)))?.status;

      it('for a moment (a deadlock, a busy SQLite): tried again at a later check, after a wait, not reported for a rebuild; rebuilt once the database takes it', async () => {
        let failuresLeft = 1;
        const repair = failingRepair('for a moment', () => failuresLeft-- > 0);
        await firstRepair(repair);
        expect(replays).to.equal(1);
        expect(outOfOrder, 'not reported for a rebuild: it will be tried again').to.deep.equal([]);
        expect(await counted('repaired_out_of_order')).to.equal(0);
        expect(retries.map((r) => ({ failures: r.failures, retryInMs: r.retryInMs })), 'told when it is tried again').to.deep.equal([{ failures: 1, retryInMs: BOUND_MS / 10 }]);
        expect(retries[0].reason).to.match(dialect === 'sqlite' ? /SQLITE_BUSY|database is locked/ : /Deadlock/);
        expect(await status(), 'not rebuilt yet').to.equal('running');
        expect(shown, 'not told shown before its stream is rebuilt').to.deep.equal([]);
        expect(replayErrors, 'the error told, to be counted among background errors').to.have.length(1);

        now += BOUND_MS / 10 - 1;
        await repair.check();
        expect(replays, 'not before the wait is over').to.equal(1);
        now += 1;
        await repair.check();
        expect(replays).to.equal(2);
        expect(await status(), 'rebuilt from the event store').to.equal('completed');
        expect(shown, 'told shown once rebuilt').to.deep.equal([lostPositions]);
        expect(replayed.map((x) => x.position)).to.deep.equal(lostPositions);
        expect(await counted('replayed_stream')).to.equal(3);
        expect(outOfOrder).to.deep.equal([]);
        now += BOUND_MS;
        await repair.check();
        expect(replays, 'done: not tried again').to.equal(2);
      });

      it(`for a moment at each of ${REPLAY_ATTEMPTS} tries: waits twice as long before each, then reports it once for a rebuild, with the command`, async () => {
        const repair = failingRepair('for a moment', () => true);
        await firstRepair(repair);
        for (let i = 0; i < 20 && replays < REPLAY_ATTEMPTS; i++) {
          now += retries[retries.length - 1].retryInMs;
          await repair.check();
        }
        expect(replays).to.equal(REPLAY_ATTEMPTS);
        expect(retries.map((r) => r.retryInMs), 'doubling, at most the bound').to.deep.equal([6_000, 12_000, 24_000, 48_000]);
        expect(outOfOrder.map((x) => x.position), 'reported once, each position').to.deep.equal(lostPositions);
        expect(shown, 'told shown when given up on (as the projections folded them)').to.deep.equal([lostPositions]);
        expect(outOfOrder[0].reason).to.contain(`each of ${REPLAY_ATTEMPTS} tries`);
        expect(await counted('repaired_out_of_order')).to.equal(3);
        expect(rebuildCommands(outOfOrder.flatMap((x) => x.projections))).to.equal('openmcp projections rebuild tasks; openmcp projections rebuild task-steps');
        for (let i = 0; i < 3; i++) {
          now += BOUND_MS;
          await repair.check();
        }
        expect(replays, 'no more tries').to.equal(REPLAY_ATTEMPTS);
        expect(outOfOrder).to.have.length(3);
      });

      it('for a moment, then the repair stops before the next try: reported for a rebuild rather than forgotten', async () => {
        const repair = failingRepair('for a moment', () => true);
        await firstRepair(repair);
        expect(outOfOrder).to.deep.equal([]);
        await repair.stop();
        expect(outOfOrder.map((x) => x.position)).to.deep.equal(lostPositions);
        expect(outOfOrder[0].reason).to.match(/stopped/);
        expect(await counted('repaired_out_of_order')).to.equal(3);
      });

      it('an event of the stream repaired while its replay waits, with no later one applied, is told shown with the others once the stream is rebuilt, not dropped', async () => {
        let failing = true;
        const repair = failingRepair('for a moment', () => failing);
        await firstRepair(repair);
        expect(retries).to.have.length(1);
        // The bus loses another event of c (the last of its stream: none applied after it), then delivers one of another stream.
        const lost = await db.store.append(c, [createEvent({ type: 'TaskStepStarted', stream: c, tenant: 'acme', actor, data: { stepId: 's2', index: 1, tool: 'srv__echo', argumentsHash: `0x${'cd'.repeat(32)}`, argumentsJson: '{}', source: 'steps', idempotent: true } })]);
        const other = `task-${newId()}`;
        const delivered = await db.store.append(other, [createEvent({ type: 'TaskSubmitted', stream: other, tenant: 'acme', actor, data: { instruction: 'x' } })]);
        expect(await rm.waitForPosition(delivered.position, 10_000)).to.equal(true);
        await repair.check();
        now += BOUND_MS;
        // Its replay is due and fails again; the new event is overdue and applied (not after a later one of its stream).
        await repair.check();
        expect(repaired.flat()).to.include(lost.position);
        expect(retries).to.have.length(2);
        failing = false;
        now += retries[1].retryInMs;
        await repair.check();
        expect(await status()).to.equal('completed');
        expect(shown.flat().sort((x, y) => x - y), "every repaired event of the stream told shown once it is rebuilt (its page's live notice goes out again)").to.deep.equal([...lostPositions, lost.position]);
      });

      /** The repair, whose first query after each apply the database fails, as a connection lost then (until `failing` is false). */
      function failingAfterApply(): GapRepair {
        const flaky = new Proxy(db.knex, {
          apply(target, thisArg, args) {
            const qb = Reflect.apply(target, thisArg, args) as Knex.QueryBuilder;
            if (failNext) {
              failNext = false;
              const lost = Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
              // The builder's methods return the builder itself: awaiting the query ends here.
              Object.assign(qb, { then: (ok: never, no: never) => Promise.reject(lost).then(ok, no) });
            }
            return qb;
          },
        });
        return repairOf({
          knex: flaky,
          apply: async (events) => {
            await projector.applyEvents(events);
            failNext = true;
          },
        });
      }
      let failNext = false;
      /** The check that applies the lost start, and fails on the database right after. */
      async function applyThenFail(repair: GapRepair): Promise<void> {
        await repair.check();
        now += BOUND_MS;
        const failed = await repair.check().then(() => undefined, (err: unknown) => err);
        expect((failed as { code?: string })?.code, 'the check failed with the database').to.equal('PROTOCOL_CONNECTION_LOST');
        expect(await listed(), 'the repair itself was applied').to.include.members(lostPositions);
        expect(await status(), 'its stream not rebuilt yet').to.not.equal('completed');
      }

      it('the database failing right after the repair is applied, before it could tell whether a later event of the stream was applied first: told at the next check and the stream rebuilt, not forgotten', async () => {
        const repair = failingAfterApply();
        await applyThenFail(repair);
        now += BOUND_MS / 10;
        await repair.check();
        expect(await status(), 'rebuilt from the event store').to.equal('completed');
        expect(replayed.map((x) => x.position)).to.deep.equal(lostPositions);
        expect(await counted('replayed_stream')).to.equal(3);
        expect(shown).to.deep.equal([lostPositions]);
        expect(outOfOrder).to.deep.equal([]);
      });

      it('the same, then the repair stops before the next check: reported for a rebuild rather than forgotten', async () => {
        const repair = failingAfterApply();
        await applyThenFail(repair);
        await repair.stop();
        expect(outOfOrder.map((x) => x.position)).to.deep.equal(lostPositions);
        expect(outOfOrder[0].reason).to.match(/stopped/);
        expect(await counted('repaired_out_of_order')).to.equal(3);
      });

      it('for good (the write refused, not the database away): reported at once for a rebuild, never tried again', async () => {
        const repair = failingRepair('for good', () => true);
        await firstRepair(repair);
        expect(replays).to.equal(1);
        expect(retries).to.deep.equal([]);
        expect(outOfOrder.map((x) => x.position)).to.deep.equal(lostPositions);
        expect(outOfOrder[0].reason).to.contain('replay refused by a test trigger');
        for (let i = 0; i < 3; i++) {
          now += BOUND_MS;
          await repair.check();
        }
        expect(replays).to.equal(1);
        expect(outOfOrder).to.have.length(3);
        expect(await counted('repaired_out_of_order')).to.equal(3);
      });
    });

    it('replays a stream only up to date: given fewer events of it than the audit log holds (the bus applied a later one since they were read), changes nothing and says so', async () => {
      await setUp(() => false);
      const id = a.slice('task-'.length);
      const events = await db.store.readStream(a);
      expect(await projector.replayStream(events.slice(0, 2)), 'read before the bus applied TaskCompleted').to.equal(false);
      expect((await rm.getTask('acme', id))?.status).to.equal('completed');
      expect(await projector.replayStream(events)).to.equal(true);
      expect((await rm.getTask('acme', id))?.status).to.equal('completed');
    });

    it('replays a stream of more events than a function takes arguments (a long-lived MCP server\'s health changes)', async () => {
      await setUp(() => false);
      const stream = `mcpserver-${newId()}`;
      const registered = await db.store.append(stream, [
        createEvent({ type: 'McpServerRegistered', stream, tenant: 'acme', actor, data: { name: 'srv', transport: 'http', url: 'http://127.0.0.1:1/mcp' } }),
      ]);
      // As the store would give them back: the registration, then 200,000 health changes (not appended: that would take minutes here).
      const [first] = registered.events;
      const many: RecordedEvent[] = [first, ...Array.from({ length: 200_000 }, (_, i) => ({ ...first, id: newId(), type: 'McpServerHealthChanged', revision: i + 1, position: first.position + i + 1, data: { status: i % 2 ? 'down' : 'up' } }))];
      expect(await projector.replayStream(many)).to.equal(true);
      expect((await db.knex('rm_mcp_servers').where('id', stream.slice('mcpserver-'.length)).first())?.health).to.equal('down');
    });

    it('stops between chunks when stopped during a repair, not after every overdue position', async () => {
      const bulk = `task-${newId()}`;
      await setUp((e) => e.stream === bulk);
      // 700 events the bus never delivers, then one it does: two chunks overdue.
      await db.store.append(bulk, Array.from({ length: 700 }, (_, i) => createEvent({ type: i ? 'TaskStarted' : 'TaskSubmitted', stream: bulk, tenant: 'acme', actor, data: i ? {} : { instruction: 'x' } })));
      const later = `task-${newId()}`;
      const last = await db.store.append(later, [createEvent({ type: 'TaskSubmitted', stream: later, tenant: 'acme', actor, data: { instruction: 'x' } })]);
      expect(await rm.waitForPosition(last.position, 10_000)).to.equal(true);
      const chunks: number[][] = [];
      let stopping: Promise<void> | undefined;
      const repair: GapRepair = new GapRepair({
        knex: db.knex,
        store: db.store,
        apply: async (events) => {
          chunks.push(events.map((e) => e.position));
          stopping ??= repair.stop();
          await projector.applyEvents(events);
        },
        afterMs: BOUND_MS,
        clock: () => new Date(now),
        registry,
      });
      await repair.check();
      now += BOUND_MS;
      await repair.check();
      await stopping;
      expect(chunks.map((c) => c.length), 'the chunk in hand, then no more').to.deep.equal([500]);
    });
  });
}
