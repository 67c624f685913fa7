import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalog } from '../../events';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { readServersFile } from '../../src/mcp/servers-file';
import { mcpServersProjection, type McpServerDoc } from '../../projections/mcp-servers.projection';
import { startBearerUpstream, type BearerUpstream } from './support/bearer-upstream';
import { replicasOnOneLog, type ReplicasOnOneLog } from './support/replicas';
import { until } from './support/until';
import { rejection } from './support/rejection';

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };
// A value no other text in the log could contain by chance.
const SECRET = `sk-test-${Math.random().toString(36).slice(2)}-secret`;
const VAR = `OMC_TEST_UPSTREAM_TOKEN_${process.pid}`;
const TEMPLATE = `Bearer \${env:${VAR}}`;

describe('MCP gateway: headers for HTTP/SSE upstreams, values by reference to the environment (McpServerRegistered v3)', function () {
  this.timeout(60_000);
  let store: EventStore;
  let gw: McpGateway;
  let upstream: BearerUpstream;
  let log: ReplicasOnOneLog;

  const storedText = async (s: EventStore = store): Promise<string> => JSON.stringify(await s.readAll({ limit: 10_000 }));

  before(async () => {
    upstream = await startBearerUpstream('Authorization', `Bearer ${SECRET}`);
  });
  after(async () => upstream?.close());

  beforeEach(async () => {
    process.env[VAR] = SECRET;
    upstream.requests.length = 0;
    log = replicasOnOneLog();
    ({ gw, store } = await log.open());
  });
  afterEach(async () => {
    delete process.env[VAR];
    await log?.close();
  });

  it('streamable HTTP: every request carries the header (initialize, the GET stream, calls), calls succeed; without it the upstream answers 401', async () => {
    const s = await gw.registerServer({ ...ctx, name: 'hosted', transport: 'http', url: upstream.url, headers: { Authorization: TEMPLATE } });
    expect(s.health, s.healthReason).to.equal('up');
    expect(s.toolCount).to.be.greaterThan(0);
    const r = await gw.callTool(ctx, 'hosted__echo', { text: 'hi' });
    expect(r.content).to.deep.equal([{ type: 'text', text: 'hi' }]);
    await until('the GET event stream', () => upstream.requests.some((q) => q.method === 'GET'));
    expect(upstream.requests.length).to.be.greaterThan(2);
    expect(upstream.requests.filter((q) => !q.authorized)).to.deep.equal([]);

    upstream.requests.length = 0;
    const bare = await gw.registerServer({ ...ctx, name: 'bare', transport: 'http', url: upstream.url });
    expect(bare.health).to.equal('down');
    expect(bare.healthReason).to.include('HTTP 401');
    expect(upstream.requests.every((q) => !q.authorized)).to.equal(true);
  });

  it('a session the upstream forgot is initialised again with the header', async () => {
    await gw.registerServer({ ...ctx, name: 'hosted', transport: 'http', url: upstream.url, headers: { Authorization: TEMPLATE } });
    upstream.forgetSessions();
    upstream.requests.length = 0;
    const r = await gw.callTool(ctx, 'hosted__echo', { text: 'again' });
    expect(r.content).to.deep.equal([{ type: 'text', text: 'again' }]);
    // The 404 for the forgotten session, then a fresh initialize, all with the header.
    expect(upstream.requests.length).to.be.greaterThan(2);
    expect(upstream.requests.filter((q) => !q.authorized)).to.deep.equal([]);
  });

  it('SSE: the event stream (GET) and the posted messages carry the header; without it, 401', async () => {
    const s = await gw.registerServer({ ...ctx, name: 'legacy', transport: 'sse', url: upstream.sseUrl, headers: { Authorization: TEMPLATE } });
    expect(s.health, s.healthReason).to.equal('up');
    expect((await gw.callTool(ctx, 'legacy__echo', { text: 'sse' })).content).to.deep.equal([{ type: 'text', text: 'sse' }]);
    expect(upstream.requests.some((q) => q.method === 'GET' && q.path === '/sse')).to.equal(true);
    expect(upstream.requests.some((q) => q.method === 'POST' && q.path === '/messages')).to.equal(true);
    expect(upstream.requests.filter((q) => !q.authorized)).to.deep.equal([]);

    const bare = await gw.registerServer({ ...ctx, name: 'legacy-bare', transport: 'sse', url: upstream.sseUrl });
    expect(bare.health).to.equal('down');
    expect(bare.healthReason).to.include('HTTP 401');
  });

  it('the value appears nowhere: not in the stored events, the read model, the server list nor an error; the log holds the template (v3)', async () => {
    await gw.registerServer({ ...ctx, name: 'hosted', transport: 'http', url: upstream.url, headers: { Authorization: TEMPLATE } });
    await gw.callTool(ctx, 'hosted__echo', { text: 'hi' });
    // A value a header cannot carry fails the connection: the reason names the variable, not the value.
    process.env[VAR] = `${SECRET}\r\nX-Injected: 1`;
    const broken = await gw.registerServer({ ...ctx, name: 'broken', transport: 'http', url: upstream.url, headers: { 'X-Api-Key': `\${env:${VAR}}` } });
    expect(broken.health).to.equal('down');
    expect(broken.healthReason).to.include(VAR).and.not.include(SECRET);
    const err = await rejection(gw.upstream(broken.id)!.connect());
    expect(err.message).to.include(VAR).and.not.include(SECRET);

    const events = await store.readAll({ limit: 10_000 });
    expect(JSON.stringify(events)).to.not.include(SECRET);
    const reg = events.find((e) => e.type === 'McpServerRegistered' && e.data.name === 'hosted')!;
    expect(reg.version).to.equal(3);
    expect(reg.data.headers).to.deep.equal({ Authorization: TEMPLATE });
    for (const e of events) catalog.validate(e.type, e.version, e.data);
    const docs = new Map<string, McpServerDoc | undefined>();
    for (const e of events) {
      if (!mcpServersProjection.canHandle(e)) continue;
      const id = mcpServersProjection.documentId(e);
      docs.set(id, mcpServersProjection.evolve(docs.get(id), e));
    }
    expect(docs.size).to.equal(2);
    expect(JSON.stringify([...docs.values()])).to.not.include(SECRET);
    const list = gw.listServers('acme');
    expect(list.find((x) => x.name === 'hosted')?.headers).to.deep.equal({ Authorization: TEMPLATE });
    expect(JSON.stringify(list)).to.not.include(SECRET);
  });

  it('a replica that learns of the server from the log authenticates from its own environment; one without the variable says which is missing', async () => {
    const s = await gw.registerServer({ ...ctx, name: 'hosted', transport: 'http', url: upstream.url, headers: { Authorization: TEMPLATE } });
    const b = await log.open();
    await until('the replica connects', () => b.gw.upstream(s.id)?.health === 'up');
    expect((await b.gw.callTool(ctx, 'hosted__echo', { text: 'from b' })).content).to.deep.equal([{ type: 'text', text: 'from b' }]);

    // A restart (a fresh process reading the log) on a host without the variable.
    delete process.env[VAR];
    const c = await log.open();
    await until('the replica gives up', () => c.gw.upstream(s.id)?.health === 'down');
    const err = await rejection(c.gw.callTool(ctx, 'hosted__echo', { text: 'from c' }));
    expect(err.code).to.equal('MCP_UPSTREAM_UNAVAILABLE');
    expect(err.message).to.include(`environment variable ${VAR} is not set`);
    // Its own environment, not the server's health: nothing recorded, the up of the replicas that reach it stands.
    expect(c.gw.listServers('acme')[0].health).to.equal('up');
    expect((await store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerHealthChanged' && e.data.status === 'down')).to.deep.equal([]);
    expect(await storedText()).to.not.include(SECRET);
  });

  it('refuses protocol and hop-by-hop headers, bad names, literal values, headers on stdio, and a variable that is not set; nothing is recorded', async () => {
    const bad: [Record<string, string>, string, string][] = [
      [{ 'Content-Type': TEMPLATE }, 'headers.Content-Type', 'set by the MCP transport'],
      [{ 'mcp-session-id': TEMPLATE }, 'headers.mcp-session-id', 'set by the MCP transport'],
      [{ Accept: TEMPLATE }, 'headers.Accept', 'set by the MCP transport'],
      [{ Host: TEMPLATE }, 'headers.Host', 'set by the MCP transport'],
      [{ 'Content-Length': TEMPLATE }, 'headers.Content-Length', 'set by the MCP transport'],
      [{ Connection: TEMPLATE }, 'headers.Connection', 'set by the MCP transport'],
      [{ 'Transfer-Encoding': TEMPLATE }, 'headers.Transfer-Encoding', 'set by the MCP transport'],
      [{ 'Bad Name': TEMPLATE }, 'headers.Bad Name', 'not a valid header name'],
      [{ Authorization: `Bearer ${SECRET}` }, 'headers.Authorization', 'by reference'],
      [{ Authorization: 'Bearer ${ENV:X}' }, 'headers.Authorization', 'by reference'],
      [{ Authorization: TEMPLATE, authorization: TEMPLATE }, 'headers.authorization', 'given twice'],
      [{}, 'headers', '1 to 20'],
    ];
    for (const [headers, field, text] of bad) {
      const err = await rejection(gw.registerServer({ ...ctx, name: 'x', transport: 'http', url: upstream.url, headers }));
      expect(err.code, field).to.equal('VALIDATION_FAILED');
      expect(err.details?.field, JSON.stringify(headers)).to.equal(field);
      expect(err.message).to.include(text).and.not.include(SECRET);
    }
    const stdio = await rejection(gw.registerServer({ ...ctx, name: 'x', transport: 'stdio', command: 'node', headers: { Authorization: TEMPLATE } }));
    expect(stdio.details?.field).to.equal('headers');

    const missing = await rejection(gw.registerServer({ ...ctx, name: 'x', transport: 'http', url: upstream.url, headers: { 'X-Api-Key': '${env:OMC_TEST_NOT_SET_ANYWHERE}' } }));
    expect(missing.code).to.equal('MCP_SECRET_MISSING');
    expect(missing.details).to.deep.equal({ field: 'headers.X-Api-Key', variable: 'OMC_TEST_NOT_SET_ANYWHERE' });
    expect(missing.message).to.include('OMC_TEST_NOT_SET_ANYWHERE is not set');
    expect(await store.readAll({ limit: 10 })).to.deep.equal([]);
  });

  it('registrations without headers are written exactly as before (v1, or v2 with limits); both read as the latest version without headers', async () => {
    await gw.registerServer({ ...ctx, name: 'plain', transport: 'http', url: upstream.url });
    await gw.registerServer({ ...ctx, name: 'limited', transport: 'http', url: upstream.url, limits: { timeoutMs: 500 } });
    const regs = (await store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerRegistered');
    expect(regs.map((e) => [e.data.name, e.version])).to.deep.equal([['plain', 1], ['limited', 2]]);
    expect(regs[0].data).to.deep.equal({ name: 'plain', transport: 'http', url: upstream.url });
    expect(regs[1].data).to.deep.equal({ name: 'limited', transport: 'http', url: upstream.url, limits: { timeoutMs: 500 } });
    for (const e of regs) {
      const up = catalog.upcast(e);
      expect(up.version).to.equal(catalog.latestVersion('McpServerRegistered'));
      expect(up.data).to.deep.equal(e.data);
    }
  });

  it('MCP_SERVERS_FILE: headers (the mcpServers form other MCP clients use) reach the upstream; a missing variable stops start-up naming it', async () => {
    const file = join(log.dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { hosted: { url: upstream.url, headers: { Authorization: TEMPLATE } } } }));
    const [p] = readServersFile(file, actor);
    expect(p.headers).to.deep.equal({ Authorization: TEMPLATE });
    const s = await gw.ensureServer({ ...p, tenant: 'acme' });
    expect(s.health, s.healthReason).to.equal('up');
    // Same file again (a restart): the server is kept, not registered twice.
    const again = await gw.ensureServer({ ...readServersFile(file, actor)[0], tenant: 'acme' });
    expect(again.id).to.equal(s.id);

    writeFileSync(file, JSON.stringify({ servers: [{ name: 'hosted', url: upstream.url, headers: { 'X-Api-Key': '${env:OMC_TEST_NOT_SET_ANYWHERE}' } }] }));
    expect(() => readServersFile(file, actor)).to.throw(/MCP_SERVERS_FILE: servers\.0\.headers\.X-Api-Key: environment variable OMC_TEST_NOT_SET_ANYWHERE is not set/);
    writeFileSync(file, JSON.stringify({ mcpServers: { hosted: { url: upstream.url, headers: { 'Mcp-Session-Id': TEMPLATE } } } }));
    expect(() => readServersFile(file, actor)).to.throw(/MCP_SERVERS_FILE: mcpServers\.hosted\.headers\.Mcp-Session-Id: .*set by the MCP transport/);
  });
});
