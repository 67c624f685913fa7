import { expect } from 'chai';
import { join } from 'node:path';
import { MemoryCache } from '../../src/cache/memory';
import { createEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { delayedFeed } from './support/delayed-feed';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'alice' };
const ECHO_SERVER = join(__dirname, 'support', 'flagged-server.ts');

/**
 * A registers a server while B runs beside it (another replica, or the `openmcp mcp stdio` an MCP
 * host started): B reads the registration, connects, and finds the server up with the tools A
 * recorded a moment before, which B's follower has not read yet. B must record neither again —
 * the log keeps one discovery and one "up", and B's MCP clients get one
 * notifications/tools/list_changed, not one per replica.
 */
describe('MCP registration seen by a replica that lags behind the log', function () {
  this.timeout(60_000);
  let temp: { store: EventStore; dir: string; cleanup(): Promise<void> };
  let a: McpGateway | undefined;
  let b: McpGateway | undefined;
  let feedOfB: ReturnType<typeof delayedFeed> | undefined;

  afterEach(async function () {
    feedOfB?.release();
    await b?.close();
    await a?.close();
    await temp?.cleanup();
  });

  it('records one discovery and one "up" and tells its clients once', async function () {
    temp = await openTempSqliteStore();
    const options = { cache: new MemoryCache(), upstream: { healthIntervalMs: 0 } };
    a = new McpGateway({ ...options, store: temp.store, replicaId: 'mcp-gateway:a' });
    feedOfB = delayedFeed(temp.store);
    b = new McpGateway({ ...options, store: feedOfB.store, replicaId: 'mcp-gateway:b' });
    await a.start();
    await b.start();
    const changes: string[] = [];
    b.onToolsChanged((tenant) => changes.push(tenant));

    feedOfB.hold();
    const { id } = await a.ensureServer({ tenant: 'acme', actor, name: 'echoes', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), ECHO_SERVER] });
    const stream = `mcpserver-${id}`;
    const types = async () => (await temp.store.readStream(stream)).map((e) => e.type).sort();
    await until("A records the server's discovery and health", async () => (await types()).join() === 'McpServerHealthChanged,McpServerRegistered,McpServerToolsDiscovered');

    // B reads the registration only, connects, and finds what A recorded.
    feedOfB.pass();
    await until('B connects to the server', () => b!.upstream(id)?.health === 'up');
    await until('B lists its tools', () => b!.listTools('acme').length === 1);
    feedOfB.release();
    await until("B's follower reads A's events", async () => (await temp.store.readStream(stream)).every((e) => feedOfB!.delivered.has(e.id)));
    await b.checkHealth();

    const events = await temp.store.readStream(stream);
    expect(events.map((e) => `${e.type} ${e.actor.id}`), 'the log, once B has connected').to.have.members([
      'McpServerRegistered alice',
      'McpServerToolsDiscovered mcp-gateway',
      'McpServerHealthChanged mcp-gateway:a',
    ]);
    expect(changes, "notifications/tools/list_changed for B's clients").to.deep.equal(['acme']);
  });

  /** A and B as above, B reading the registration only; returns the server's stream, once A recorded its discovery and "up". */
  async function registeredWhileBLags(): Promise<{ id: string; stream: string }> {
    temp = await openTempSqliteStore();
    const options = { cache: new MemoryCache(), upstream: { healthIntervalMs: 0 } };
    a = new McpGateway({ ...options, store: temp.store, replicaId: 'mcp-gateway:a' });
    feedOfB = delayedFeed(temp.store);
    b = new McpGateway({ ...options, store: feedOfB.store, replicaId: 'mcp-gateway:b' });
    await a.start();
    await b.start();
    feedOfB.hold();
    const { id } = await a.ensureServer({ tenant: 'acme', actor, name: 'echoes', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), ECHO_SERVER] });
    const stream = `mcpserver-${id}`;
    await until("A records the server's discovery and health", async () => (await temp.store.readStream(stream)).length === 3);
    return { id, stream };
  }

  it('still records what B sees when the log\'s latest says otherwise (down since, other tools since), not an equal event further back', async function () {
    const { stream } = await registeredWhileBLags();
    // Since A's discovery and "up", the log says the server down and with other tools (another replica's view).
    const other = { kind: 'system' as const, id: 'mcp-gateway:c' };
    await temp.store.append(stream, [createEvent({ type: 'McpServerHealthChanged', stream, tenant: 'acme', actor: other, data: { status: 'down', reason: 'echoes: gone' } })]);
    await temp.store.append(stream, [
      createEvent({ type: 'McpServerToolsDiscovered', stream, tenant: 'acme', actor: other, data: { tools: [{ name: 'other', inputSchemaJson: '{"type":"object"}' }], toolsHash: `0x${'5'.repeat(64)}` } }),
    ]);
    const echoHash = (await temp.store.readStream(stream)).find((e) => e.type === 'McpServerToolsDiscovered')!.data.toolsHash;

    feedOfB!.pass();
    await until('B records its own discovery and "up" after those', async () => (await temp.store.readStream(stream)).length === 7);
    const events = await temp.store.readStream(stream);
    // In the order B saw them: up on connecting, then the tools it listed.
    expect(events.slice(5).map((e) => `${e.type} ${e.actor.id} ${e.type === 'McpServerHealthChanged' ? e.data.status : e.data.toolsHash}`)).to.deep.equal([
      'McpServerHealthChanged mcp-gateway:b up',
      `McpServerToolsDiscovered mcp-gateway ${echoHash}`,
    ]);
    expect(b!.listTools('acme').map((t) => t.upstreamName)).to.deep.equal(['echo']);
  });

  it('records nothing of a server removed meanwhile, found so when B reads the stream again on a conflict', async function () {
    const { id, stream } = await registeredWhileBLags();
    await a!.removeServer('acme', id, actor);
    const changes: string[] = [];
    b!.onToolsChanged((tenant) => changes.push(tenant));

    // B reads the registration only, connects, appends its "up" at the revision it read, and,
    // refused, reads the stream: A's discovery, A's "up", and the removal.
    feedOfB!.pass();
    await until('B reads the stream again and finds the server removed', () => changes.length === 2 && b!.upstream(id) === undefined);
    // Closing waits for what B was recording (its follower let go first: it reads the removal, already applied).
    feedOfB!.release();
    const gateway = b!;
    b = undefined;
    await gateway.close();
    const types = (await temp.store.readStream(stream)).map((e) => e.type);
    expect(types.slice(-1), 'nothing after the removal').to.deep.equal(['McpServerRemoved']);
    expect(types).to.have.members(['McpServerRegistered', 'McpServerToolsDiscovered', 'McpServerHealthChanged', 'McpServerRemoved']);
  });
});
