import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { catalog } from '../../events';
import { createLogger } from '../../src/api/logger';
import { createEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { readServersFile } from '../../src/mcp/servers-file';
import { mcpServersProjection, type McpServerDoc } from '../../projections/mcp-servers.projection';
import { startQueryKeyUpstream, type BearerUpstream } from './support/bearer-upstream';
import { replicasOnOneLog, type ReplicasOnOneLog } from './support/replicas';
import { until } from './support/until';
import { rejection } from './support/rejection';

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };
// Values no other text in the log could contain by chance (URL components: letters, digits, -).
const SECRET = `sk-test-${Math.random().toString(36).slice(2)}-secret`;
const ROTATED = `sk-test-${Math.random().toString(36).slice(2)}-rotated`;
const VAR = `OMC_TEST_URL_KEY_${process.pid}`;

describe('MCP gateway: an http/sse upstream URL referring to the environment (?api_key=${env:NAME}, McpServerRegistered v6)', function () {
  this.timeout(60_000);
  let store: EventStore;
  let gw: McpGateway;
  let upstream: BearerUpstream;
  const keys = new Set<string>();
  const logged: unknown[] = [];
  let log: ReplicasOnOneLog;
  let template: string;
  let sseTemplate: string;

  const logger = { warn: (o: unknown, m?: string) => logged.push([o, m]), info: (o: unknown, m?: string) => logged.push([o, m]), debug: (o: unknown, m?: string) => logged.push([o, m]) };
  const storedText = async (s: EventStore = store): Promise<string> => JSON.stringify(await s.readAll({ limit: 10_000 }));
  /** Everything the test could see of the value: events, listings, the gateway's log (errors serialised with their messages). */
  const seen = (...more: unknown[]): string =>
    JSON.stringify([logged.map(([o, m]: any) => [m, o, o?.err?.message, o?.err?.cause?.message]), ...more]);

  before(async () => {
    upstream = await startQueryKeyUpstream('api_key', keys);
    template = `${upstream.url}?api_key=\${env:${VAR}}`;
    sseTemplate = `${upstream.sseUrl}?api_key=\${env:${VAR}}`;
  });
  after(async () => upstream?.close());

  beforeEach(async () => {
    process.env[VAR] = SECRET;
    keys.clear();
    keys.add(SECRET);
    logged.length = 0;
    upstream.requests.length = 0;
    log = replicasOnOneLog({ logger });
    ({ gw, store } = await log.open());
  });
  afterEach(async () => {
    delete process.env[VAR];
    await log?.close();
  });

  it('streamable HTTP and SSE: connected with the value, calls succeed; the log holds the template (v6), never the value', async () => {
    const s = await gw.registerServer({ ...ctx, name: 'hosted', transport: 'http', url: template });
    expect(s.health, s.healthReason).to.equal('up');
    expect(s.url).to.equal(template);
    expect((await gw.callTool(ctx, 'hosted__echo', { text: 'hi' })).content).to.deep.equal([{ type: 'text', text: 'hi' }]);
    const sse = await gw.registerServer({ ...ctx, name: 'legacy', transport: 'sse', url: sseTemplate });
    expect(sse.health, sse.healthReason).to.equal('up');
    expect((await gw.callTool(ctx, 'legacy__echo', { text: 'sse' })).content).to.deep.equal([{ type: 'text', text: 'sse' }]);
    expect(upstream.requests.filter((q) => !q.authorized)).to.deep.equal([]);

    const events = await store.readAll({ limit: 10_000 });
    const regs = events.filter((e) => e.type === 'McpServerRegistered');
    // `url` masked as any URL's credentials are (what a reader of v5 reads), the template beside it.
    expect(regs.map((e) => [e.version, e.data])).to.deep.equal([
      [6, { name: 'hosted', transport: 'http', url: `${upstream.url}?api_key=***`, urlTemplate: template }],
      [6, { name: 'legacy', transport: 'sse', url: `${upstream.sseUrl}?api_key=***`, urlTemplate: sseTemplate }],
    ]);
    for (const e of events) catalog.validate(e.type, e.version, e.data);
    const docs = new Map<string, McpServerDoc | undefined>();
    for (const e of events) {
      if (!mcpServersProjection.canHandle(e)) continue;
      const id = mcpServersProjection.documentId(e);
      docs.set(id, mcpServersProjection.evolve(docs.get(id), e));
    }
    expect([...docs.values()].map((d) => d?.url)).to.deep.equal([template, sseTemplate]);
    expect(seen(events, [...docs.values()], gw.listServers('acme'))).to.not.include(SECRET);
  });

  it('a replica that follows the log connects with its own value (a rotated key); one without the variable is down there, naming it, and records nothing', async () => {
    const s = await gw.registerServer({ ...ctx, name: 'hosted', transport: 'http', url: template });
    expect(s.health, s.healthReason).to.equal('up');
    // The key rotated: this host's variable holds the new one, the upstream takes only that.
    process.env[VAR] = ROTATED;
    keys.clear();
    keys.add(ROTATED);
    const b = await log.open();
    await until('the replica connects', () => b.gw.upstream(s.id)?.health === 'up');
    expect((await b.gw.callTool(ctx, 'hosted__echo', { text: 'from b' })).content).to.deep.equal([{ type: 'text', text: 'from b' }]);

    // A host without the variable.
    delete process.env[VAR];
    const c = await log.open();
    await until('the replica gives up', () => c.gw.upstream(s.id)?.health === 'down');
    const err = await rejection(c.gw.callTool(ctx, 'hosted__echo', { text: 'from c' }));
    expect(err.code).to.equal('MCP_UPSTREAM_UNAVAILABLE');
    expect(err.message).to.include(`url: environment variable ${VAR} is not set`);
    // Its own environment, not the server's health: nothing recorded, the up of the replicas that reach it stands.
    expect(c.gw.listServers('acme')[0].health).to.equal('up');
    expect((await store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerHealthChanged' && e.data.status === 'down')).to.deep.equal([]);
    expect(seen(await storedText(), c.gw.listServers('acme'))).to.not.include(SECRET).and.not.include(ROTATED);
  });

  it('a URL an older release recorded with ${env:NAME} in its query (v1 to v5: any tenant admin could register one) is used as written, never resolved', async () => {
    // Before 2026-12-11 "${" was no reference: a tenant admin's https://their.host/?k=${env:OPENMCP_ADMIN_KEY} was taken, recorded as such (v4, egress).
    for (const [version, extra] of [[1, {}], [4, { egress: 'public' }]] as const) {
      const old = createEvent({ type: 'McpServerRegistered', version, stream: `mcpserver-old${version}-1`, tenant: 'acme', actor, data: { name: `old${version}`, transport: 'http', url: template, ...extra } });
      await store.append(old.stream, [old], { expectedRevision: 'no_stream' });
    }
    const b = await log.open();
    // v4's egress refuses the test's loopback upstream whatever its URL: v1 shows what reached it.
    await until('the replica tried both', () => ['old1-1', 'old4-1'].every((id) => ['up', 'down'].includes(b.gw.upstream(id)?.health ?? '')));
    expect(upstream.requests.filter((q) => q.authorized)).to.deep.equal([]);
    expect(b.gw.upstream('old1-1')?.health).to.equal('down');
    expect(seen(await storedText(), b.gw.listServers('acme'))).to.not.include(SECRET);
  });

  it('a value that would change the URL is not put in it: the server is down naming the variable, never the value', async () => {
    process.env[VAR] = `${SECRET}&admin=1`;
    const s = await gw.registerServer({ ...ctx, name: 'broken', transport: 'http', url: template });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.include(VAR).and.include('percent-encode').and.not.include(SECRET);
    expect(upstream.requests).to.deep.equal([]);
    const err = await rejection(gw.upstream(s.id)!.connect());
    expect(err.message).to.include(VAR).and.not.include(SECRET);
    // Percent-encoded, it is a URL component: the server gets it decoded, as it would any query value.
    process.env[VAR] = SECRET.replace('-', '%2D');
    const fixed = await gw.registerServer({ ...ctx, name: 'encoded', transport: 'http', url: template });
    expect(fixed.health, fixed.healthReason).to.equal('up');
    expect(seen(await storedText(), gw.listServers('acme'))).to.not.include(SECRET);
  });

  it('an error that repeats the URL names the reference, not the value', async () => {
    // A path the upstream does not serve: 404 (the gateway never shows a response body), and the value is in the path.
    const s = await gw.registerServer({ ...ctx, name: 'pathkey', transport: 'http', url: `${upstream.url.replace(/\/mcp$/, '')}/s/\${env:${VAR}}/mcp?api_key=\${env:${VAR}}` });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.include(`\${env:${VAR}}`).and.not.include(SECRET);
    expect(upstream.requests.map((q) => q.path)).to.include(`/s/${SECRET}/mcp`);
    expect(seen(await storedText(), gw.listServers('acme'))).to.not.include(SECRET);
    // The error a REST answer of 503 logs whole (the API's error handler: its cause's message and stack
    // too), the SDK's own error quoting the upstream's 404 body ("Cannot POST /s/<value>/mcp") among them.
    const err = await rejection(gw.upstream(s.id)!.connect());
    const lines: string[] = [];
    createLogger('info', new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) })).error({ err }, 'request failed');
    expect(lines.join('')).to.include('Cannot POST').and.include(`\${env:${VAR}}`).and.not.include(SECRET);

    // An upstream's JSON-RPC error quoting the URL it was sent (its message and data): what the caller and the health reason get.
    const quoting = await gw.registerServer({ ...ctx, name: 'quoting', transport: 'http', url: `${upstream.url.replace(/\/mcp$/, '')}/refuses?api_key=\${env:${VAR}}` });
    expect(quoting.health).to.equal('down');
    expect(quoting.healthReason).to.include(`refused: /refuses?api_key=\${env:${VAR}}`);
    const refused = (await rejection(gw.upstream(quoting.id)!.connect())) as Error & { rpcData?: unknown };
    expect([refused.message, refused.rpcData]).to.deep.equal([`refused: /refuses?api_key=\${env:${VAR}}`, { url: `/refuses?api_key=\${env:${VAR}}` }]);
    expect(seen(await storedText(), gw.listServers('acme'))).to.not.include(SECRET);
  });

  it('refuses a variable that is not set (MCP_SECRET_MISSING naming url) and references outside the path and query; nothing is recorded', async () => {
    const missing = await rejection(gw.registerServer({ ...ctx, name: 'x', transport: 'http', url: `${upstream.url}?api_key=\${env:OMC_TEST_NOT_SET_ANYWHERE}` }));
    expect(missing.code).to.equal('MCP_SECRET_MISSING');
    expect(missing.details).to.deep.equal({ field: 'url', variable: 'OMC_TEST_NOT_SET_ANYWHERE' });
    // Says where to set it: a newcomer sets it in the CLI's shell, which the gateway never reads.
    expect(missing.message).to.equal(
      "url: environment variable OMC_TEST_NOT_SET_ANYWHERE is not set on this gateway: set it in the environment the gateway runs in (openmcp start's, not the client's), restart the gateway, and register again",
    );
    for (const [url, text] of [
      [`http://\${env:${VAR}}/mcp`, 'path or the query only'],
      [`http://127.0.0.1:\${env:${VAR}}/mcp`, 'not a valid URL once each ${env:NAME} stands for a value'],
      [`${upstream.url}#\${env:${VAR}}`, 'fragment'],
      [`${upstream.url}?api_key=\${ENV:${VAR}}`, 'not a valid reference'],
      [`${upstream.url}?api_key=\${env:${VAR}}&token=${SECRET}`, 'give each credential in it by reference too'],
    ]) {
      const err = await rejection(gw.registerServer({ ...ctx, name: 'x', transport: 'http', url }));
      expect(err.code, url).to.equal('VALIDATION_FAILED');
      expect(err.details?.field, url).to.equal('url');
      expect(err.message, url).to.include(text);
    }
    expect(await store.readAll({ limit: 10 })).to.deep.equal([]);
  });

  it('URLs without references are written exactly as before (v1, credentials masked)', async () => {
    await gw.registerServer({ ...ctx, name: 'plain', transport: 'http', url: `${upstream.url}?api_key=${SECRET}` });
    const [reg] = (await store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerRegistered');
    expect([reg.version, reg.data]).to.deep.equal([1, { name: 'plain', transport: 'http', url: `${upstream.url}?api_key=***` }]);
  });

  it('retry-safe registration compares templates: the same one is the same server on any replica, another is MCP_SERVER_EXISTS (url)', async () => {
    const s = await gw.registerServer({ ...ctx, name: 'hosted', transport: 'http', url: template });
    const b = await log.open();
    await until('the replica follows', () => b.gw.listServers('acme').length === 1);
    for (const replica of [gw, b.gw]) {
      const again = await replica.registerOrMatch({ ...ctx, name: 'hosted', transport: 'http', url: template });
      expect(again.existed).to.equal(true);
      expect(again.server.id).to.equal(s.id);
      const other = await rejection(replica.registerOrMatch({ ...ctx, name: 'hosted', transport: 'http', url: `${upstream.url}?api_key=\${env:OMC_TEST_OTHER_${process.pid}}&v=2` }));
      expect(other.code).to.equal('MCP_SERVER_EXISTS');
      expect(other.details?.differs).to.deep.equal(['url']);
    }
    // The value itself, written in the URL, is another URL (the log would hold it masked).
    const literal = await rejection(gw.registerOrMatch({ ...ctx, name: 'hosted', transport: 'http', url: `${upstream.url}?api_key=${SECRET}` }));
    expect(literal.code).to.equal('MCP_SERVER_EXISTS');
    expect(literal.message).to.not.include(SECRET);
    expect((await store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerRegistered')).to.have.length(1);
  });

  it('a URL with its key written as such, sent again to another replica: the 409 points at ${env:NAME}, never showing the key', async () => {
    const s = await gw.registerServer({ ...ctx, name: 'literal', transport: 'http', url: `${upstream.url}?api_key=${SECRET}` });
    const b = await log.open();
    await until('the replica follows', () => b.gw.listServers('acme').length === 1);
    const err = await rejection(b.gw.registerOrMatch({ ...ctx, name: 'literal', transport: 'http', url: `${upstream.url}?api_key=${SECRET}` }));
    expect(err.code).to.equal('MCP_SERVER_EXISTS');
    expect(err.message).to.include(`it is server ${s.id}`).and.include('?api_key=${env:NAME}').and.not.include(SECRET);
  });

  it('MCP_SERVERS_FILE: a url with ${env:NAME} is taken and connects; a missing variable stops start-up naming it; a change records McpServerReconfigured v3', async () => {
    const file = join(log.dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { hosted: { url: `${upstream.url}?api_key=plain-value` } } }));
    const plain = await gw.ensureServer({ ...readServersFile(file, actor)[0], tenant: 'acme' });
    expect(plain.health).to.equal('down');

    writeFileSync(file, JSON.stringify({ mcpServers: { hosted: { url: template } } }));
    const [p] = readServersFile(file, actor);
    expect(p.url).to.equal(template);
    const s = await gw.ensureServer({ ...p, tenant: 'acme' });
    expect(s.id).to.equal(plain.id);
    expect(s.health, s.healthReason).to.equal('up');
    const again = await gw.ensureServer({ ...readServersFile(file, actor)[0], tenant: 'acme' });
    expect(again.id).to.equal(s.id);
    const reconf = (await store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerReconfigured');
    expect(reconf.map((e) => [e.version, e.data])).to.deep.equal([[3, { name: 'hosted', transport: 'http', url: `${upstream.url}?api_key=***`, urlTemplate: template, changed: ['url'] }]]);

    writeFileSync(file, JSON.stringify({ servers: [{ name: 'hosted', url: `${upstream.url}?api_key=\${env:OMC_TEST_NOT_SET_ANYWHERE}` }] }));
    expect(() => readServersFile(file, actor)).to.throw(/MCP_SERVERS_FILE: servers\.0\.url: environment variable OMC_TEST_NOT_SET_ANYWHERE is not set/);
    writeFileSync(file, JSON.stringify({ mcpServers: { hosted: { url: `${upstream.url}?api_key=\${input:key}` } } }));
    expect(() => readServersFile(file, actor)).to.throw(/MCP_SERVERS_FILE: mcpServers\.hosted\.url: "\$\{…\}" variables are not expanded there/);
    expect(await storedText()).to.not.include(SECRET);
  });
});
