import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import type { OpenMcpError } from '../../src/core/errors';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';

const actor = { kind: 'user' as const, id: 'tenant-admin' };

/** Each registered server is a connection (a process, for stdio) and a health check: a tenant may register only so many. */
describe('MCP gateway: MCP_MAX_SERVERS_PER_TENANT', function () {
  this.timeout(30_000);
  let dir: string;
  let store: EventStore;
  let gw: McpGateway;
  let upstream: HttpExample;
  before(async () => {
    upstream = await startHttpExample();
    dir = mkdtempSync(join(tmpdir(), 'omc-server-limit-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
    gw = new McpGateway({ store, upstream: { healthIntervalMs: 0 }, maxServersPerTenant: 2 });
    await gw.start();
  });
  after(async () => {
    await gw?.close();
    await store?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a tenant its next server past the limit (409 MCP_SERVER_LIMIT naming the setting), records nothing; other tenants and the configuration are not held; a removal frees a place', async () => {
    const register = (tenant: string, name: string) => gw.registerServer({ tenant, actor, name, transport: 'http', url: upstream.url });
    const one = await register('acme', 'one');
    await register('acme', 'two');
    const head = await store.headPosition();
    const err = (await register('acme', 'three').then(() => undefined, (e: unknown) => e)) as OpenMcpError | undefined;
    expect(err?.code).to.equal('MCP_SERVER_LIMIT');
    expect(err?.status).to.equal(409);
    expect(err?.message).to.equal('tenant acme has 2 MCP servers, as many as MCP_MAX_SERVERS_PER_TENANT allows (2): remove one first');
    expect(await store.headPosition(), 'nothing recorded').to.equal(head);
    // Another tenant has its own count; the configuration's servers (ensureServer) are the operator's.
    await register('globex', 'one');
    await gw.ensureServer({ tenant: 'acme', actor: { kind: 'system', id: 'cfg' }, name: 'configured', transport: 'http', url: upstream.url });
    expect(gw.listServers('acme').filter((s) => s.tenant === 'acme').map((s) => s.name).sort()).to.deep.equal(['configured', 'one', 'two']);
    await gw.removeServer('acme', one.id, actor);
    await gw.removeServer('acme', gw.listServers('acme').find((s) => s.name === 'configured')!.id, actor);
    expect((await register('acme', 'three')).name).to.equal('three');
  });

  it('at the limit, a registration sent again (the same definition) answers with that server, not MCP_SERVER_LIMIT; another definition of the name is MCP_SERVER_EXISTS', async () => {
    const spec = (name: string) => ({ tenant: 'initech', actor, name, transport: 'http' as const, url: upstream.url });
    const one = await gw.registerOrMatch(spec('one'));
    await gw.registerOrMatch(spec('two'));
    const head = await store.headPosition();
    const again = await gw.registerOrMatch(spec('one'));
    expect(again).to.deep.include({ existed: true });
    expect(again.server.id).to.equal(one.server.id);
    const other = (await gw.registerOrMatch({ ...spec('one'), limits: { maxConcurrent: 2 } }).then(() => undefined, (e: unknown) => e)) as OpenMcpError | undefined;
    expect(other?.code).to.equal('MCP_SERVER_EXISTS');
    expect((await gw.registerOrMatch(spec('three')).then(() => undefined, (e: unknown) => e)) as OpenMcpError | undefined).to.have.property('code', 'MCP_SERVER_LIMIT');
    expect(await store.headPosition(), 'nothing recorded').to.equal(head);
  });
});
