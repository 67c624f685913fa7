import { expect } from 'chai';
import { join } from 'node:path';
import { MemoryCache } from '../../src/cache/memory';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { delayedFeed } from './support/delayed-feed';
import { openTempSqliteStore } from './support/stores';
import { until } from './support/until';

const actor = { kind: 'user' as const, id: 'alice' };
const ECHO_SERVER = join(__dirname, 'support', 'flagged-server.ts');

/**
 * Two gateway replicas on one log: D registers a server and appends its discovery (expected
 * revision 'any') just after another replica's older one, which D's follower reads only later.
 * Both must list the tools the log records last.
 */
describe('MCP tool discoveries across gateway replicas', function () {
  this.timeout(60_000);
  let temp: { store: EventStore; dir: string; cleanup(): Promise<void> };
  let b: McpGateway | undefined;
  let d: McpGateway | undefined;
  let late: ReturnType<typeof delayedFeed> | undefined;

  afterEach(async function () {
    late?.release();
    await d?.close();
    await b?.close();
    await temp?.cleanup();
  });

  it("lists the log's latest tools when it reads another replica's older discovery after appending its own", async function () {
    temp = await openTempSqliteStore();
    const options = { cache: new MemoryCache(), upstream: { healthIntervalMs: 0 } };
    let foreign: RecordedEvent | undefined;
    const feed = delayedFeed(
      new Proxy(temp.store, {
        get(target, prop, receiver) {
          if (prop !== 'append') return Reflect.get(target, prop, receiver);
          return async (...args: Parameters<EventStore['append']>) => {
            if (!foreign && args[1][0]?.type === 'McpServerToolsDiscovered') {
              // A replica with an older view of the server appends its discovery just before D's; D reads it late.
              feed.hold();
              const stale = createEvent({
                type: 'McpServerToolsDiscovered',
                stream: args[0],
                tenant: 'acme',
                actor: { kind: 'system', id: 'mcp-gateway' },
                data: { tools: [{ name: 'stale', inputSchemaJson: '{"type":"object"}' }], toolsHash: `0x${'5'.repeat(64)}` },
              });
              foreign = (await target.append(args[0], [stale])).events[0];
            }
            return target.append(...args);
          };
        },
      }),
    );
    late = feed;
    d = new McpGateway({ ...options, store: feed.store, replicaId: 'mcp-gateway:d' });
    await d.start();
    const { id } = await d.ensureServer({ tenant: 'acme', actor, name: 'echoes', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), ECHO_SERVER] });
    await until('D lists the tools it discovered', () => d!.listTools('acme').length > 0);
    const discoveries = (await temp.store.readStream(`mcpserver-${id}`)).filter((e) => e.type === 'McpServerToolsDiscovered');
    expect(discoveries.map((e) => e.id).indexOf(foreign!.id), "the other replica's discovery is the older").to.equal(0);
    expect(d.listTools('acme').map((t) => t.upstreamName)).to.deep.equal(['echo']);

    feed.release();
    await until("D's follower reads the older discovery", () => feed.delivered.has(foreign!.id));
    await new Promise((r) => setTimeout(r, 50));
    expect(d.listTools('acme').map((t) => t.upstreamName), 'the latest discovery of the log').to.deep.equal(['echo']);
    expect((await d.searchTools('acme', 'stale', 5)).map((m) => m.tool.upstreamName)).to.not.include('stale');
    // B starts after both discoveries (else it may discover first, and D append none).
    b = new McpGateway({ ...options, store: temp.store, replicaId: 'mcp-gateway:b' });
    await b.start();
    await until('B, reading the log in order, lists the same', () => b!.listTools('acme').map((t) => t.upstreamName).join() === 'echo');
  });
});
