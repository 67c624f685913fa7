import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { createEvent } from '../../src/core/envelope';
import type { OpenMcpError } from '../../src/core/errors';
import { newId } from '../../src/core/ids';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { until } from './support/until';

const actor = { kind: 'system' as const, id: 'cfg' };

/**
 * A name is one server per tenant even when processes register it at once (api, gateway and agent
 * processes starting together on a fresh database, each ensuring its configured servers).
 */
describe('MCP gateway: a server name is claimed once, even by concurrent registrations', function () {
  this.timeout(30_000);
  let dir: string;
  let stores: EventStore[];
  let a: McpGateway;
  let b: McpGateway;
  let upstream: HttpExample;
  before(async () => {
    upstream = await startHttpExample();
  });
  after(async () => {
    await upstream?.close();
  });
  beforeEach(async () => {
    // Two replicas: one SQLite log through separate connections.
    dir = mkdtempSync(join(tmpdir(), 'omc-names-'));
    const url = `sqlite:${join(dir, 'events.db')}`;
    stores = [await openSqlEventStore(url, { pollIntervalMs: 50 }), await openSqlEventStore(url, { pollIntervalMs: 50 })];
    a = new McpGateway({ store: stores[0], upstream: { healthIntervalMs: 0 } });
    b = new McpGateway({ store: stores[1], upstream: { healthIntervalMs: 0 } });
    await a.start();
    await b.start();
  });
  afterEach(async () => {
    await a?.close();
    await b?.close();
    for (const s of stores ?? []) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const spec = () => ({ tenant: 'acme', actor, name: 'hq', transport: 'http' as const, url: upstream.url });
  const registered = async () => (await stores[0].readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerRegistered' && e.data.name === 'hq');
  const named = (gw: McpGateway) => gw.listServers('acme').filter((s) => s.name === 'hq');

  it('two replicas ensuring the same name at once end with one server, the same in both', async () => {
    const [x, y] = await Promise.all([a.ensureServer(spec()), b.ensureServer(spec())]);
    expect(x.id).to.equal(y.id);
    expect(await registered()).to.have.length(1);
    await until('both catalogs settled', () => named(a).length === 1 && named(b).length === 1);
    expect(named(a)[0].id).to.equal(x.id);
    expect(named(b)[0].id).to.equal(x.id);
    expect(a.listTools('acme').filter((t) => t.name === 'hq__echo')).to.have.length(1);
    // Both processes reach it: the loser connected to the winner's server.
    await until('the loser connected', () => b.upstream(x.id)?.health === 'up' && a.upstream(x.id)?.health === 'up');
  });

  /** Two registrations at once; the winner's id after checking that exactly one was recorded. */
  async function race(first: McpGateway, second: McpGateway): Promise<string> {
    const before = (await registered()).length;
    const outcomes = await Promise.allSettled([first.registerServer(spec()), second.registerServer(spec())]);
    const won = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as OpenMcpError] : []));
    expect(won, `one registration: ${lost.map((e) => e.message).join('; ')}`).to.have.length(1);
    expect(lost.map((e) => [e.code, e.status])).to.deep.equal([['MCP_SERVER_EXISTS', 409]]);
    expect((await registered()).length - before).to.equal(1);
    await until('both catalogs settled', () => named(a).length === 1 && named(b).length === 1);
    expect(named(a)[0].id).to.equal(won[0].id);
    expect(named(b)[0].id).to.equal(won[0].id);
    return won[0].id;
  }

  it('two registrations of one name at once, in one gateway or in two: one wins, the other is MCP_SERVER_EXISTS (409)', async () => {
    for (const [first, second] of [
      [a, a],
      [a, b],
      [b, a],
    ]) {
      const id = await race(first, second);
      // Removed, the name is free again (for one registration at a time, again).
      await second.removeServer('acme', id, actor);
      await until('removal seen', () => named(a).length === 0 && named(b).length === 0);
      const id2 = await race(second, first);
      expect(id2).to.not.equal(id);
      await first.removeServer('acme', id2, actor);
      await until('removal seen', () => named(a).length === 0 && named(b).length === 0);
    }
  });

  it('the same registration sent to two replicas at once (a client retrying on another): one records it, the other answers with that server (existed), one event', async () => {
    for (const [first, second] of [
      [a, a],
      [a, b],
    ]) {
      const before = (await registered()).length;
      const [x, y] = await Promise.all([first.registerOrMatch(spec()), second.registerOrMatch(spec())]);
      expect(x.server.id).to.equal(y.server.id);
      expect([x.existed, y.existed].sort()).to.deep.equal([false, true]);
      expect((await registered()).length - before).to.equal(1);
      // Another definition of the name, sent to either: MCP_SERVER_EXISTS naming what differs.
      const other = await second.registerOrMatch({ ...spec(), limits: { maxConcurrent: 2 } }).then(() => undefined, (err: OpenMcpError) => err);
      expect(other?.code).to.equal('MCP_SERVER_EXISTS');
      expect(other?.message).to.contain('their definitions differ (limits)');
      await first.removeServer('acme', x.server.id, actor);
      await until('removal seen', () => named(a).length === 0 && named(b).length === 0);
    }
  });

  it('the same registration with a URL holding credentials, sent again to another replica: 409 saying it may be your own server (its id), never that sending it again answers 200', async () => {
    const keyed = { ...spec(), url: `${upstream.url}?api_key=s3cret-value` };
    const first = await a.registerOrMatch(keyed);
    expect(first.existed).to.equal(false);
    await until('b sees it', () => named(b).length === 1);
    const err = await b.registerOrMatch(keyed).then(() => undefined, (e: OpenMcpError) => e);
    expect(err?.code).to.equal('MCP_SERVER_EXISTS');
    expect(err?.message).to.contain(`if this is your own registration sent again (its first answer lost), it is server ${first.server.id}`);
    expect(err?.message).to.not.contain('sending the same definition again answers with the registered server');
    expect(err?.message).to.not.contain('s3cret');
    // The replica that registered it compares the credentials: the same.
    expect((await a.registerOrMatch(keyed)).existed).to.equal(true);
  });

  it('a server registered before names were claimed by ids (a random id) keeps its name; removed, the name is free', async () => {
    const legacy = newId();
    const e = createEvent({ type: 'McpServerRegistered', version: 1, stream: `mcpserver-${legacy}`, tenant: 'acme', actor, data: { name: 'hq', transport: 'http', url: upstream.url } });
    await stores[0].append(e.stream, [e], { expectedRevision: 'no_stream' });
    await until('both catalogs have it', () => named(a).length === 1 && named(b).length === 1);
    const refused = await b.registerServer(spec()).then(() => undefined, (err: OpenMcpError) => err.code);
    expect(refused).to.equal('MCP_SERVER_EXISTS');
    expect((await a.ensureServer(spec())).id, 'the same configuration: reused').to.equal(legacy);
    await a.removeServer('acme', legacy, actor);
    await until('removal seen', () => named(b).length === 0);
    const id = (await b.registerServer(spec())).id;
    expect(id).to.not.equal(legacy);
    await until('both catalogs settled', () => named(a).length === 1 && named(a)[0].id === id);
  });
});
