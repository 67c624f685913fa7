import { expect } from 'chai';
import { join } from 'node:path';
import { MemoryCache } from '../../src/cache/memory';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'alice' };
const EXAMPLE = join(__dirname, '..', '..', 'examples', 'mcp-stdio', 'server.ts');

/**
 * A replica records a server's health only when its view changes against what the log says:
 * a process that starts (a restart, each `openmcp mcp stdio` an MCP host launches, a new replica)
 * and finds up a server the log already says up records nothing. It recorded `up` again for every
 * server at each start, so the hashed, anchored log grew by one event per server per launch.
 */
describe('MCP server health: a new replica finding up a server the log says up', function () {
  this.timeout(60_000);
  let temp: { store: EventStore; dir: string; cleanup(): Promise<void> };
  const gateways: McpGateway[] = [];
  const gateway = async (replicaId: string) => {
    const g = new McpGateway({ store: temp.store, cache: new MemoryCache(), upstream: { healthIntervalMs: 0 }, replicaId });
    gateways.push(g);
    await g.start();
    return g;
  };
  const healthEvents = async (id: string): Promise<RecordedEvent[]> => (await temp.store.readStream(`mcpserver-${id}`)).filter((e) => e.type === 'McpServerHealthChanged');

  beforeEach(async () => {
    temp = await openTempSqliteStore();
  });
  afterEach(async () => {
    for (const g of gateways.splice(0)) await g.close();
    await temp?.cleanup();
  });

  it('records nothing, at its start or after, where the first replica recorded it up once', async () => {
    const a = await gateway('mcp-gateway:a');
    const { id } = await a.ensureServer({ tenant: 'acme', actor, name: 'ex', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), EXAMPLE] });
    await until('A records it up', async () => (await healthEvents(id)).length === 1);

    const b = await gateway('mcp-gateway:b');
    await until('B reaches the server', () => b.upstream(id)?.health === 'up');
    await b.checkHealth();
    await b.close(); // every change B would record is recorded by then
    await a.close(); // a restart of A, below
    const c = await gateway('mcp-gateway:c');
    await until('C reaches the server', () => c.upstream(id)?.health === 'up');
    await c.close();

    expect((await healthEvents(id)).map((e) => [e.data.status, e.actor.id])).to.deep.equal([['up', 'mcp-gateway:a']]);
  });

  it('records up, at its start, a server the log says down (a replica gone since recorded it), with no health checks (MCP_HEALTH_INTERVAL_MS=0)', async () => {
    const a = await gateway('mcp-gateway:a');
    const { id } = await a.ensureServer({ tenant: 'acme', actor, name: 'ex', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), EXAMPLE] });
    await until('A records it up', async () => (await healthEvents(id)).length === 1);
    await a.close();
    const down = createEvent({ type: 'McpServerHealthChanged', stream: `mcpserver-${id}`, tenant: 'acme', actor: { kind: 'system', id: 'mcp-gateway:dead' }, data: { status: 'down', reason: 'unreachable' } });
    await temp.store.append(down.stream, [down]);
    const b = await gateway('mcp-gateway:b');
    await until('B records it up', async () => (await healthEvents(id)).length === 3);
    await b.close();
    expect((await healthEvents(id)).map((e) => [e.data.status, e.actor.id])).to.deep.equal([
      ['up', 'mcp-gateway:a'],
      ['down', 'mcp-gateway:dead'],
      ['up', 'mcp-gateway:b'],
    ]);
  });
});
