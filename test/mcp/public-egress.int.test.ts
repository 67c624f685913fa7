import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { startBearerUpstream, type BearerUpstream } from './support/bearer-upstream';

const actor = { kind: 'user' as const, id: 'op' };

/**
 * A server a tenant registered (egress "public") must never reach an internal address, whatever its
 * name resolves to when the gateway connects: the check at registration alone let a name that
 * resolved to a public address then, or to none, be pointed at 127.0.0.1 or 169.254.169.254 later.
 */
describe('MCP gateway: a server registered with egress "public" connects to public addresses only, checked at every connection (McpServerRegistered v4)', function () {
  this.timeout(60_000);
  let dir: string;
  let url: string;
  let upstream: BearerUpstream;
  const opened: { gw: McpGateway; store: EventStore }[] = [];

  const openGateway = async () => {
    const store = await openSqlEventStore(url, { pollIntervalMs: 50 });
    const gw = new McpGateway({ store, cacheTtlMs: 0, upstream: { healthIntervalMs: 0, retries: 0, connectTimeoutMs: 5_000 } });
    await gw.start();
    opened.push({ gw, store });
    return { gw, store };
  };

  before(async () => {
    upstream = await startBearerUpstream('X-Unused', 'none');
    dir = mkdtempSync(join(tmpdir(), 'omc-egress-'));
    url = `sqlite:${join(dir, 'events.db')}`;
  });
  after(async () => {
    for (const o of opened) {
      await o.gw.close();
      await o.store.close();
    }
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a name that resolves to loopback, and a loopback address: down with the reason, nothing sent; recorded as v4 with egress "public", and so for a replica reading the log', async () => {
    const { gw, store } = await openGateway();
    const port = new URL(upstream.url).port;
    for (const [name, at] of [['byname', `http://localhost:${port}/mcp`], ['byaddress', `http://127.0.0.1:${port}/mcp`]] as const) {
      const s = await gw.registerServer({ tenant: 'acme', actor, name, transport: 'http', url: at, egress: 'public' });
      expect(s.health, name).to.equal('down');
      expect(s.healthReason, name).to.match(/resolves to an internal address:/);
    }
    expect(upstream.requests, 'nothing reached the internal address').to.deep.equal([]);
    const registered = (await store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerRegistered');
    expect(registered.map((e) => [e.version, (e.data as { egress?: string }).egress])).to.deep.equal([[4, 'public'], [4, 'public']]);
    for (const e of registered) expect(catalog.validate(e.type, e.version, e.data)).to.deep.include({ egress: 'public' });

    // Another replica (or a restart) learns the servers from the log: it refuses them the same way.
    const other = await openGateway();
    for (let i = 0; i < 200 && other.gw.listServers('acme').some((x) => x.health !== 'down'); i++) await new Promise((r) => setTimeout(r, 25));
    for (const x of other.gw.listServers('acme')) expect(x.healthReason, x.name).to.match(/internal address/);
    expect(upstream.requests).to.deep.equal([]);
  });

  it("the reason names the host, never the internal address it resolved to: a tenant pointing its own name at the host's internal names (a CNAME) learns no address of the host's networks", async () => {
    const { gw, store } = await openGateway();
    const port = new URL(upstream.url).port;
    const s = await gw.registerServer({ tenant: 'epsilon', actor, name: 'mapped', transport: 'http', url: `http://localhost:${port}/mcp`, egress: 'public' });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.match(/localhost(:\d+)? resolves to an internal address:/);
    const seen = JSON.stringify([s, gw.listServers('epsilon'), (await store.readAll({ limit: 1000 })).filter((e) => e.tenant === 'epsilon')]);
    for (const address of ['127.0.0.1', '::1']) expect(seen).to.not.include(address);
  });

  it('under MCP_PAYLOAD_POLICY=hash-only the log keeps the cause (unreachable, INTERNAL_ADDRESS_REFUSED), not the text', async () => {
    const store = await openSqlEventStore(url, { pollIntervalMs: 50 });
    const gw = new McpGateway({ store, cacheTtlMs: 0, payloadPolicy: 'hash-only', upstream: { healthIntervalMs: 0, retries: 0, connectTimeoutMs: 5_000 } });
    await gw.start();
    opened.push({ gw, store });
    const s = await gw.registerServer({ tenant: 'beta', actor, name: 'hidden', transport: 'http', url: upstream.url, egress: 'public' });
    expect(s.health).to.equal('down');
    const change = (await store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerHealthChanged' && e.tenant === 'beta').at(-1)!;
    expect(change.data).to.deep.include({ cause: { kind: 'unreachable', errno: 'INTERNAL_ADDRESS_REFUSED' } });
    expect(JSON.stringify(change.data)).to.not.include('127.0.0.1');
    expect(upstream.requests).to.deep.equal([]);
  });

  it('over SSE too: the reason names the refused host and the log keeps INTERNAL_ADDRESS_REFUSED (the EventSource that opens the stream reports a failed fetch as text only)', async () => {
    const sseAt = upstream.sseUrl.replace('127.0.0.1', 'localhost');
    const { gw } = await openGateway();
    const s = await gw.registerServer({ tenant: 'acme', actor, name: 'stream', transport: 'sse', url: sseAt, egress: 'public' });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.match(/localhost(:\d+)? resolves to an internal address:/);

    const store = await openSqlEventStore(url, { pollIntervalMs: 50 });
    const hidden = new McpGateway({ store, cacheTtlMs: 0, payloadPolicy: 'hash-only', upstream: { healthIntervalMs: 0, retries: 0, connectTimeoutMs: 5_000 } });
    await hidden.start();
    opened.push({ gw: hidden, store });
    await hidden.registerServer({ tenant: 'delta', actor, name: 'stream', transport: 'sse', url: sseAt, egress: 'public' });
    const change = (await store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerHealthChanged' && e.tenant === 'delta').at(-1)!;
    expect(change.data).to.deep.include({ cause: { kind: 'unreachable', errno: 'INTERNAL_ADDRESS_REFUSED' } });
    expect(upstream.requests, 'nothing reached the internal address').to.deep.equal([]);
  });

  it('a configuration entry with the same settings (MCP_SERVERS_FILE at a start: ensureServer) keeps the egress the log records: the process that reads the file refuses internal addresses too, as every other does', async () => {
    const { gw } = await openGateway();
    const spec = { tenant: 'gamma', name: 'kept', transport: 'http' as const, url: upstream.url };
    await gw.registerServer({ ...spec, actor, egress: 'public' });
    const s = await gw.ensureServer({ ...spec, actor: { kind: 'system', id: 'openmcp' } });
    expect(s.egress).to.equal('public');
    expect(s.healthReason).to.match(/internal address/);
    expect(upstream.requests, 'nothing reached the internal address').to.deep.equal([]);
    // Other settings are reconfigured in place (McpServerReconfigured), the entry's whole: the
    // host operator's configuration now, which records no egress, so every process reaches it anywhere.
    const moved = await gw.ensureServer({ ...spec, url: `${upstream.url}?v=2`, actor: { kind: 'system', id: 'openmcp' } });
    expect(moved.egress).to.equal(undefined);
    expect(upstream.requests.length).to.be.greaterThan(0);
  });

  it('without egress (MCP_SERVERS_FILE, a cross-tenant admin): the internal address is reached, as before (v1)', async () => {
    const { gw, store } = await openGateway();
    const s = await gw.registerServer({ tenant: 'acme', actor, name: 'inside', transport: 'http', url: upstream.url });
    expect(upstream.requests.length).to.be.greaterThan(0);
    expect(s.healthReason ?? '').to.not.match(/internal address/);
    const e = (await store.readAll({ limit: 1000 })).filter((x) => x.type === 'McpServerRegistered').at(-1)!;
    expect(e.version).to.equal(1);
    expect(e.data).to.not.have.property('egress');
  });
});
