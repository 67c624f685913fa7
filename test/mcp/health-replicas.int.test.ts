import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryCache } from '../../src/cache/memory';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { delayedFeed } from './support/delayed-feed';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'alice' };
const FLAGGED_SERVER = join(__dirname, 'support', 'flagged-server.ts');
const TTL_MS = 30_000;

/**
 * Three gateway replicas on one log and one cache (Redis, in production), on one clock the test
 * moves. A is started with HEALTH_TEST_FLAG (its own configuration's env value), B and C learn the
 * server from the log without it: once the flag file exists A cannot reach the server, B and C can.
 * Health checks run only when the test calls them (no interval), so every step is explicit.
 */
describe('MCP server health across gateway replicas', function () {
  this.timeout(60_000);
  let temp: { store: EventStore; dir: string; cleanup(): Promise<void> };
  let now: number;
  let a: McpGateway;
  let b: McpGateway;
  let c: McpGateway;
  let feedOfC: ReturnType<typeof delayedFeed>;
  let id: string;
  let cache: MemoryCache;

  const healthEvents = async (): Promise<RecordedEvent[]> => (await temp.store.readStream(`mcpserver-${id}`)).filter((e) => e.type === 'McpServerHealthChanged');

  beforeEach(async function () {
    temp = await openTempSqliteStore();
    now = Date.parse('2026-12-06T12:00:00.000Z');
    const clock = () => new Date(now);
    cache = new MemoryCache();
    const options = { store: temp.store, cache, clock, presenceTtlMs: TTL_MS, upstream: { healthIntervalMs: 0 } };
    a = new McpGateway({ ...options, replicaId: 'mcp-gateway:a' });
    b = new McpGateway({ ...options, replicaId: 'mcp-gateway:b' });
    feedOfC = delayedFeed(temp.store);
    c = new McpGateway({ ...options, store: feedOfC.store, replicaId: 'mcp-gateway:c' });
    await a.start();
    await b.start();
    await c.start();
    const flag = join(temp.dir, 'unreachable-from-a');
    const info = await a.ensureServer({
      tenant: 'acme',
      actor,
      name: 'flagged',
      transport: 'stdio',
      command: process.execPath,
      args: ['--require', require.resolve('tsx/cjs'), FLAGGED_SERVER],
      env: { HEALTH_TEST_FLAG: flag },
    });
    id = info.id;
    await until('every replica reaches the server', () => [a, b, c].every((g) => g.upstream(id)?.health === 'up'));
    for (const g of [a, b, c]) await g.checkHealth();
    // From now on A cannot reach it: A records it down, last.
    writeFileSync(flag, '');
    await until('A records the server down', async () => (await a.checkHealth(), a.listServers('acme')[0]?.health === 'down'));
    await until('B and C read the down A recorded', () => [b, c].every((g) => g.listServers('acme')[0]?.health === 'down'));
    expect((await healthEvents()).at(-1)?.data.status).to.equal('down');
  });

  afterEach(async function () {
    feedOfC?.release();
    await a?.close();
    await b?.close();
    await c?.close();
    await temp?.cleanup();
  });

  it('sets a "down" right once the replica that recorded it died: a live replica that reaches the server records it up', async function () {
    expect((await healthEvents()).at(-1)?.actor, 'the down names its observer').to.deep.equal({ kind: 'system', id: 'mcp-gateway:a' });
    a.killUpstreams(); // A dies: no close(), its presence is left to expire.
    await b.checkHealth();
    expect(b.listServers('acme')[0].health, 'A may still be alive: its down stands').to.equal('down');

    now += TTL_MS + 1;
    await b.checkHealth();
    expect(b.listServers('acme')[0]).to.include({ health: 'up' });
    const last = (await healthEvents()).at(-1)!;
    expect([last.data.status, last.actor]).to.deep.equal(['up', { kind: 'system', id: 'mcp-gateway:b' }]);
  });

  it('sets it right at once when that replica closed', async function () {
    await a.close();
    await b.checkHealth();
    expect(b.listServers('acme')[0]).to.include({ health: 'up' });
  });

  it('sets it right once however many replicas reach the server: the others, reading late, append nothing', async function () {
    const downs = (await healthEvents()).length;
    a.killUpstreams();
    now += TTL_MS + 1;
    feedOfC.hold(); // C does not read B's correction before it checks itself
    await b.checkHealth();
    await c.checkHealth();
    expect(c.listServers('acme')[0].health, "C has not read B's correction").to.equal('down');
    feedOfC.release();
    await until("C reads B's correction", () => c.listServers('acme')[0]?.health === 'up');
    await c.checkHealth();
    const after = (await healthEvents()).slice(downs);
    expect(after.map((e) => [e.data.status, e.actor.id])).to.deep.equal([['up', 'mcp-gateway:b']]);
  });

  it("says what the log says last when it reads another replica's older change after appending its own", async function () {
    // D starts (its first health change, up, is appended with expected revision 'any'); just
    // before it, A records the server down once more, and D's follower reads that only later.
    let foreign: RecordedEvent | undefined;
    const late = delayedFeed(
      new Proxy(temp.store, {
        get(target, prop, receiver) {
          if (prop !== 'append') return Reflect.get(target, prop, receiver);
          return async (...args: Parameters<EventStore['append']>) => {
            if (!foreign && args[1][0]?.type === 'McpServerHealthChanged') {
              const down = createEvent({ type: 'McpServerHealthChanged', stream: args[0], tenant: 'acme', actor: { kind: 'system', id: 'mcp-gateway:a' }, data: { status: 'down', reason: 'unreachable' } });
              foreign = (await target.append(args[0], [down])).events[0];
            }
            return target.append(...args);
          };
        },
      }),
    );
    const d = new McpGateway({ store: late.store, cache, clock: () => new Date(now), presenceTtlMs: TTL_MS, upstream: { healthIntervalMs: 0 }, replicaId: 'mcp-gateway:d' });
    try {
      await d.start();
      late.hold();
      await until('D records the server up', async () => (await healthEvents()).at(-1)?.actor.id === 'mcp-gateway:d');
      const last = (await healthEvents()).at(-1)!;
      expect([foreign!.revision < last.revision, last.data.status]).to.deep.equal([true, 'up']);
      late.release();
      await until("D's follower reads A's older down", () => late.delivered.has(foreign!.id));
      await new Promise((r) => setTimeout(r, 50));
      expect(d.listServers('acme')[0].health, 'the latest change of the log, as every other replica says').to.equal('up');
      expect(a.listServers('acme')[0].health).to.equal('up');
    } finally {
      late.release();
      await d.close();
    }
  });

  it('sets right a down recorded by a replica of an earlier release (actor mcp-gateway, no presence): during a rolling upgrade, as once it is done', async function () {
    const down = createEvent({ type: 'McpServerHealthChanged', stream: `mcpserver-${id}`, tenant: 'acme', actor: { kind: 'system', id: 'mcp-gateway' }, data: { status: 'down', reason: 'unreachable' } });
    await temp.store.append(down.stream, [down]);
    await until('B reads the older release\'s down', () => b.catalog.healthObserver(id) === 'mcp-gateway');
    await b.checkHealth();
    const last = (await healthEvents()).at(-1)!;
    expect([last.data.status, last.actor.id]).to.deep.equal(['up', 'mcp-gateway:b']);
  });

  it('writes nothing more while replicas live and disagree, however often they check', async function () {
    const before = (await healthEvents()).length;
    for (let round = 0; round < 5; round++) {
      for (const g of [a, b, c]) await g.checkHealth();
      now += TTL_MS / 10; // within A's presence, which its timer renews in real time only every TTL/3
    }
    expect((await healthEvents()).length, 'health events after the rounds').to.equal(before);
    for (const g of [a, b, c]) expect(g.listServers('acme')[0].health).to.equal('down');
  });
});
