import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TextContent } from '@modelcontextprotocol/sdk/types.js';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import type { EventStore } from '../../src/eventstore/port';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { SqlEventStore } from '../../src/eventstore/sql/sql-event-store';
import { McpGateway } from '../../src/mcp/gateway';
import { examplesServer } from '../../src/mcp/examples-server';
import { until } from './support/until';

/** `until`, waiting longer by default: these wait on other processes. */
const eventually = (what: string, check: () => boolean | Promise<boolean>, ms = 15_000) => until(what, check, ms);

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };

/**
 * Two gateways on one log through separate connections, as two processes would share it (an API
 * replica registering, a gateway replica serving /mcp): the second sees the first's appends only
 * by following the log.
 */
describe('MCP gateway replicas sharing one log', function () {
  this.timeout(60_000);
  let dir: string;
  let storeA: SqlEventStore;
  let storeB: SqlEventStore;
  let a: McpGateway;
  let b: McpGateway;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'omc-follow-'));
    const url = `sqlite:${join(dir, 'events.db')}`;
    storeA = await openSqlEventStore(url, { pollIntervalMs: 50 });
    storeB = await openSqlEventStore(url, { pollIntervalMs: 50 });
    a = new McpGateway({ store: storeA, upstream: { healthIntervalMs: 0 } });
    b = new McpGateway({ store: storeB, upstream: { healthIntervalMs: 0 } });
    await a.start();
    await b.start();
  });

  after(async function () {
    await a?.close();
    await b?.close();
    await storeA?.close();
    await storeB?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a server registered by another process, through its own upstream connection, and drops it when removed there', async function () {
    const info = await a.registerServer({ ...examplesServer(actor, { name: 'files' }), tenant: 'acme' });
    // (B may already have it: its poll, every 50 ms, can read the events before A's registration returns.)

    await eventually('replica B lists the tools registered through A', () => b.listTools('acme').some((t) => t.name === 'files__echo'));
    const result = await b.callTool(ctx, 'files__echo', { text: 'through B' });
    expect((result.content[0] as TextContent).text).to.include('through B');
    expect(b.upstream(info.id)?.pid, 'B runs its own upstream').to.be.a('number').and.not.equal(a.upstream(info.id)?.pid);
    expect((await b.searchTools('acme', 'echo text back')).map((m) => m.tool.name)).to.include('files__echo');

    await a.removeServer('acme', info.id, actor);
    await eventually('replica B drops the removed server', () => !b.listTools('acme').some((t) => t.name === 'files__echo'));
    expect(b.upstream(info.id), 'B closed its upstream').to.equal(undefined);
    let refused: unknown;
    await b.callTool(ctx, 'files__echo', { text: 'gone' }).catch((e: unknown) => (refused = e));
    expect((refused as { code?: string }).code).to.equal('MCP_TOOL_NOT_FOUND');
  });

  it('applies its own registrations once: one upstream, not a second one from the followed event', async function () {
    const info = await b.registerServer({ ...examplesServer(actor, { name: 'mine' }), tenant: 'acme' });
    const pid = b.upstream(info.id)?.pid;
    expect(pid).to.be.a('number');
    // Let B's subscription deliver its own events (local hand-over and the poll).
    await new Promise((r) => setTimeout(r, 300));
    expect(b.upstream(info.id)?.pid, 'same upstream process').to.equal(pid);
    expect(b.listTools('acme').filter((t) => t.name === 'mine__echo')).to.have.length(1);
    await b.removeServer('acme', info.id, actor);
  });

  it('a replica that has not followed a removal made elsewhere yet answers removed already (409), recording no second McpServerRemoved (it recorded one and answered 204)', async function () {
    const info = await a.registerServer({ ...examplesServer(actor, { name: 'twice' }), tenant: 'acme' });
    // A replica whose follower will not poll again during the test: it sees the server, not its removal.
    const storeC = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 600_000 });
    const c = new McpGateway({ store: storeC, upstream: { healthIntervalMs: 0 } });
    try {
      await c.start();
      expect(c.listServers('acme').map((x) => x.id)).to.include(info.id);
      await a.removeServer('acme', info.id, actor);
      expect(c.listServers('acme').map((x) => x.id), 'C has not followed the removal').to.include(info.id);
      let refused: unknown;
      await c.removeServer('acme', info.id, actor).catch((e: unknown) => (refused = e));
      expect(refused).to.include({ code: 'INVALID_TRANSITION', status: 409 });
      expect((refused as Error).message).to.equal(`MCP server twice (${info.id}) is removed already`);
      const removals = (await storeA.readStream(`mcpserver-${info.id}`)).filter((e) => e.type === 'McpServerRemoved');
      expect(removals).to.have.length(1);
      // Caught up with that stream on the way: the server is gone from C's catalog, its upstream closed.
      expect(c.listServers('acme').map((x) => x.id)).to.not.include(info.id);
      expect(c.upstream(info.id)).to.equal(undefined);
    } finally {
      await c.close();
      await storeC.close();
    }
  });

  it('a replica starting on a long log reads only the registry streams, then follows from the head', async function () {
    const big = await a.registerServer({ ...examplesServer(actor, { name: 'big' }), tenant: 'acme' });
    // The log a gateway lives in is mostly tool calls: 3,000 events of other streams after the registration.
    for (let i = 0; i < 30; i++) {
      await Promise.all(Array.from({ length: 100 }, () => {
        const stream = `toolcall-${newId()}`;
        return storeA.append(stream, [createEvent({ type: 'TaskStarted', stream, tenant: 'acme', actor, data: {} })]);
      }));
    }
    let read = 0;
    const counted: EventStore = {
      name: storeB.name,
      append: (stream, events, options) => storeB.append(stream, events, options),
      readStream: (stream, options) => storeB.readStream(stream, options),
      readAll: async (options) => {
        const page = await storeB.readAll(options);
        read += page.length;
        return page;
      },
      subscribeAll: (options) => storeB.subscribeAll(options),
      headPosition: () => storeB.headPosition(),
      ping: () => storeB.ping(),
      close: async () => {},
    };
    const c = new McpGateway({ store: counted, upstream: { healthIntervalMs: 0 } });
    try {
      await c.start();
      expect(c.listTools('acme').map((t) => t.name)).to.include('big__echo');
      const registry = (await storeB.readAll({ limit: 100_000 })).filter((e) => e.stream.startsWith('mcpserver-')).length;
      expect(read, 'events read at start: the registry streams only').to.equal(registry);
      await a.removeServer('acme', big.id, actor);
      await eventually('the new replica follows a removal made after its start', () => !c.listTools('acme').some((t) => t.name === 'big__echo'));
    } finally {
      await c.close();
    }
  });
});
