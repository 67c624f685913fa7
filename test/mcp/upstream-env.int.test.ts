import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalog } from '../../events';
import { createEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { readServersFile } from '../../src/mcp/servers-file';
import { mcpServersProjection, type McpServerDoc } from '../../projections/mcp-servers.projection';
import { replicasOnOneLog, type ReplicasOnOneLog } from './support/replicas';
import { until } from './support/until';
import { rejection } from './support/rejection';

/** `until`, waiting longer by default: these wait on other processes. */
const eventually = (what: string, check: () => boolean | Promise<boolean>, ms = 15_000) => until(what, check, ms);

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };
const ENV_SERVER = join(__dirname, 'support', 'env-server.ts');
const stdio = { transport: 'stdio' as const, command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), ENV_SERVER] };
// Values no other text in the log could contain by chance.
const SECRET = `ghp-test-${Math.random().toString(36).slice(2)}-secret`;
const LITERAL = `lit-test-${Math.random().toString(36).slice(2)}-secret`;
const VAR = `OMC_TEST_STDIO_TOKEN_${process.pid}`;
const sha = (v: string) => createHash('sha256').update(v).digest('hex');

/** What the probe server's process has for `name`: the SHA-256 of the value, or 'unset'. */
async function digestOn(gw: McpGateway, server: string, name: string): Promise<string> {
  const r = await gw.callTool(ctx, `${server}__env_digest`, { name });
  return (r.content as { text: string }[])[0].text;
}

describe("MCP gateway: a stdio upstream's env by reference to the gateway's environment (McpServerRegistered v3)", function () {
  this.timeout(90_000);
  let store: EventStore;
  let gw: McpGateway;
  let log: ReplicasOnOneLog;

  const other = async () => {
    const o = await log.open();
    return o.gw;
  };

  beforeEach(async () => {
    process.env[VAR] = SECRET;
    log = replicasOnOneLog({ connectTimeoutMs: 20_000 });
    ({ gw, store } = await log.open());
  });
  afterEach(async () => {
    delete process.env[VAR];
    await log?.close();
  });

  it('a replica and a restart that learn of the server from the log start it with the resolved env (literal values stay with the registering process)', async () => {
    const s = await gw.registerServer({ ...ctx, name: 'probe', ...stdio, env: { TOKEN: `\${env:${VAR}}`, DSN: `postgres://app:\${env:${VAR}}@db/app`, MODE: LITERAL } });
    expect(s.health, s.healthReason).to.equal('up');
    expect(await digestOn(gw, 'probe', 'TOKEN')).to.equal(sha(SECRET));
    expect(await digestOn(gw, 'probe', 'DSN')).to.equal(sha(`postgres://app:${SECRET}@db/app`));
    expect(await digestOn(gw, 'probe', 'MODE')).to.equal(sha(LITERAL));

    const b = await other();
    await eventually('the replica connects', () => b.upstream(s.id)?.health === 'up');
    expect(await digestOn(b, 'probe', 'TOKEN')).to.equal(sha(SECRET));
    expect(await digestOn(b, 'probe', 'DSN')).to.equal(sha(`postgres://app:${SECRET}@db/app`));
    // A value given as such was never recorded: only the registering process has it (docs/security.md).
    expect(await digestOn(b, 'probe', 'MODE')).to.equal('unset');

    // A restart: the registering process goes, a fresh one reads the log.
    await gw.close();
    const c = await other();
    await eventually('the restarted process connects', () => c.upstream(s.id)?.health === 'up');
    expect(await digestOn(c, 'probe', 'TOKEN')).to.equal(sha(SECRET));
  });

  it('the values appear nowhere: not in the stored events, the read model, the server list nor an error; the log holds the templates and every name (v3)', async () => {
    const template = `\${env:${VAR}}`;
    await gw.registerServer({ ...ctx, name: 'probe', ...stdio, env: { TOKEN: template, MODE: LITERAL } });
    await digestOn(gw, 'probe', 'TOKEN');
    const b = await other();
    await eventually('the replica connects', () => b.upstream(b.listServers('acme')[0].id)?.health === 'up');
    // A process that cannot start: its error and health reason hold no value either.
    const broken = await gw.registerServer({ ...ctx, name: 'broken', transport: 'stdio', command: join(log.dir, 'no-such-program'), env: { TOKEN: template, MODE: LITERAL } });
    expect(broken.health).to.equal('down');
    const err = await rejection(gw.callTool(ctx, 'broken__env_digest', { name: 'TOKEN' }));
    for (const m of [broken.healthReason ?? '', err.message]) expect(m).to.not.include(SECRET).and.not.include(LITERAL);

    const events = await store.readAll({ limit: 10_000 });
    const text = JSON.stringify(events);
    expect(text).to.not.include(SECRET).and.not.include(LITERAL);
    const reg = events.find((e) => e.type === 'McpServerRegistered')!;
    expect(reg.version).to.equal(3);
    expect(reg.data).to.deep.equal({ name: 'probe', ...stdio, envKeys: ['MODE', 'TOKEN'], env: { TOKEN: template } });
    expect(events.filter((e) => e.type === 'McpServerHealthChanged' && e.data.status === 'down')).to.have.length.greaterThan(0);
    for (const e of events) catalog.validate(e.type, e.version, e.data);
    const docs = new Map<string, McpServerDoc | undefined>();
    for (const e of events) {
      if (!mcpServersProjection.canHandle(e)) continue;
      const id = mcpServersProjection.documentId(e);
      docs.set(id, mcpServersProjection.evolve(docs.get(id), e));
    }
    expect(docs.size).to.equal(2);
    expect(JSON.stringify([...docs.values()])).to.not.include(SECRET).and.not.include(LITERAL);
    for (const g of [gw, b]) {
      const list = g.listServers('acme');
      expect(list.find((x) => x.name === 'probe')).to.deep.include({ envKeys: ['MODE', 'TOKEN'], env: { TOKEN: template } });
      expect(JSON.stringify(list)).to.not.include(SECRET).and.not.include(LITERAL);
    }
  });

  it('a variable that is not set: MCP_SECRET_MISSING at registration (nothing recorded); on a replica, down there naming it (nothing recorded), never starting the process without it', async () => {
    const missing = await rejection(gw.registerServer({ ...ctx, name: 'probe', ...stdio, env: { TOKEN: '${env:OMC_TEST_NOT_SET_ANYWHERE}' } }));
    expect(missing.code).to.equal('MCP_SECRET_MISSING');
    expect(missing.details).to.deep.equal({ field: 'env.TOKEN', variable: 'OMC_TEST_NOT_SET_ANYWHERE' });
    expect(missing.message).to.include('OMC_TEST_NOT_SET_ANYWHERE is not set');
    expect(await store.readAll({ limit: 10 })).to.deep.equal([]);

    const s = await gw.registerServer({ ...ctx, name: 'probe', ...stdio, env: { TOKEN: `\${env:${VAR}}` } });
    expect(s.health, s.healthReason).to.equal('up');
    delete process.env[VAR];
    const c = await other();
    await eventually('the replica gives up', () => c.upstream(s.id)?.health === 'down');
    expect(c.upstream(s.id)!.pid).to.equal(undefined);
    const err = await rejection(c.callTool(ctx, 'probe__env_digest', { name: 'TOKEN' }));
    expect(err.code).to.equal('MCP_UPSTREAM_UNAVAILABLE');
    expect(err.message).to.include(`env TOKEN: environment variable ${VAR} is not set on this gateway`);
    // Its own environment, not the server's health: nothing recorded, the up of the replicas that reach it stands.
    expect(c.listServers('acme')[0].health).to.equal('up');
    expect((await store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerHealthChanged' && e.data.status === 'down')).to.deep.equal([]);
    expect(JSON.stringify(await store.readAll({ limit: 10_000 }))).to.not.include(SECRET);
  });

  it('refuses bad references, names a reference cannot have, and env templates on http/sse; nothing is recorded', async () => {
    for (const [env, field, text] of [
      [{ TOKEN: '${ENV:X}' }, 'env.TOKEN', 'not a valid reference'],
      [{ TOKEN: '${X}' }, 'env.TOKEN', 'not a valid reference'],
      [{ TOKEN: '${env:X} and ${userHome}' }, 'env.TOKEN', 'not a valid reference'],
      [{ 'BAD-NAME': `\${env:${VAR}}` }, 'env.BAD-NAME', 'letters, digits and _'],
    ] as const) {
      const err = await rejection(gw.registerServer({ ...ctx, name: 'x', ...stdio, env: { ...env } }));
      expect(err.code, field).to.equal('VALIDATION_FAILED');
      expect(err.details?.field).to.equal(field);
      expect(err.message).to.include(text).and.not.include(SECRET);
    }
    const many = await rejection(gw.registerServer({ ...ctx, name: 'x', ...stdio, env: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`V${i}`, 'x'])) }));
    expect(many.details?.field).to.equal('env');
    expect(many.message).to.include('at most 100 variables');
    const http = await rejection(gw.registerServer({ ...ctx, name: 'x', transport: 'http', url: 'http://127.0.0.1:9/mcp', env: { TOKEN: `\${env:${VAR}}` } }));
    expect(http.details?.field).to.equal('env');
    expect(http.message).to.include('env is for stdio servers');
    expect(await store.readAll({ limit: 10 })).to.deep.equal([]);
  });

  it('registrations without env references are written exactly as before (v1, or v2 with limits) and read as the latest version without env; an old event still starts its server', async () => {
    await gw.registerServer({ ...ctx, name: 'plain', ...stdio, env: { MODE: LITERAL } });
    await gw.registerServer({ ...ctx, name: 'limited', ...stdio, env: { MODE: LITERAL }, limits: { timeoutMs: 5_000 } });
    const regs = (await store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerRegistered');
    expect(regs.map((e) => [e.data.name, e.version])).to.deep.equal([['plain', 1], ['limited', 2]]);
    expect(regs[0].data).to.deep.equal({ name: 'plain', ...stdio, envKeys: ['MODE'] });
    expect(regs[1].data).to.deep.equal({ name: 'limited', ...stdio, envKeys: ['MODE'], limits: { timeoutMs: 5_000 } });
    for (const e of regs) {
      const up = catalog.upcast(e);
      expect(up.version).to.equal(catalog.latestVersion('McpServerRegistered'));
      expect(up.data).to.deep.equal(e.data);
    }
    // A v1 event as an older gateway wrote it: a replica starts the command (without the values, as before).
    const old = createEvent({ type: 'McpServerRegistered', version: 1, stream: 'mcpserver-old-1', tenant: 'acme', actor, data: { name: 'old', ...stdio, envKeys: ['TOKEN'] } });
    await store.append(old.stream, [old], { expectedRevision: 'no_stream' });
    const b = await other();
    // Up, then its tools in the catalog (discovered by this replica and read back from the log).
    await eventually('the old server connects and its tools are listed', () => b.upstream('old-1')?.health === 'up' && b.listTools('acme').some((t) => t.name === 'old__env_digest'));
    expect(b.listServers('acme').find((x) => x.name === 'old')).to.not.have.property('env');
    expect(await digestOn(b, 'old', 'TOKEN')).to.equal('unset');
  });

  it('MCP_SERVERS_FILE: env by reference (the mcpServers form other MCP clients use) reaches the process and every replica; a missing variable stops start-up naming it', async () => {
    const file = join(log.dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { probe: { command: stdio.command, args: stdio.args, env: { TOKEN: `\${env:${VAR}}`, MODE: 'on' } } } }));
    const [p] = readServersFile(file, actor);
    const s = await gw.ensureServer({ ...p, tenant: 'acme' });
    expect(s.health, s.healthReason).to.equal('up');
    expect(await digestOn(gw, 'probe', 'TOKEN')).to.equal(sha(SECRET));
    // Same file again (a restart): the server is kept, not registered twice.
    const again = await gw.ensureServer({ ...readServersFile(file, actor)[0], tenant: 'acme' });
    expect(again.id).to.equal(s.id);
    const b = await other();
    await eventually('the replica connects', () => b.upstream(s.id)?.health === 'up');
    expect(await digestOn(b, 'probe', 'TOKEN')).to.equal(sha(SECRET));

    writeFileSync(file, JSON.stringify({ servers: [{ name: 'probe', ...stdio, env: { TOKEN: '${env:OMC_TEST_NOT_SET_ANYWHERE}' } }] }));
    expect(() => readServersFile(file, actor)).to.throw(/MCP_SERVERS_FILE: servers\.0\.env\.TOKEN: environment variable OMC_TEST_NOT_SET_ANYWHERE is not set/);
    writeFileSync(file, JSON.stringify({ mcpServers: { probe: { command: 'x', env: { TOKEN: '${userHome}' } } } }));
    expect(() => readServersFile(file, actor)).to.throw(/MCP_SERVERS_FILE: mcpServers\.probe\.env\.TOKEN: not a valid reference/);
  });
});
