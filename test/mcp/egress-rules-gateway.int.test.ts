import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { egressRulesFrom } from '../../src/mcp/egress-rules';
import { McpGateway } from '../../src/mcp/gateway';

const actor = { kind: 'user' as const, id: 'op' };

// The gateway hands the operator's rules to every connection of a server of egress "public": one
// registered before the rules were set (or by another replica) is held by them too.
describe('MCP gateway: MCP_EGRESS_ALLOWED_HOSTS and MCP_EGRESS_DENIED_NETWORKS at each connection of a tenant\'s server', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let gw: McpGateway;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-egress-rules-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 50 });
    const egress = egressRulesFrom({ allowedHosts: '*.allowed.invalid,203.0.113.9', deniedNetworks: '203.0.113.0/24' });
    gw = new McpGateway({ store, cacheTtlMs: 0, upstream: { healthIntervalMs: 0, retries: 0, connectTimeoutMs: 2_000, egress } });
    await gw.start();
  });
  after(async () => {
    await gw?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a host the list does not allow: down, the reason naming the setting; an address of a denied network: down as internal', async () => {
    const off = await gw.registerServer({ tenant: 'acme', actor, name: 'off', transport: 'http', url: 'http://mcp.elsewhere.invalid/mcp', egress: 'public' });
    expect(off.health).to.equal('down');
    expect(off.healthReason).to.include('mcp.elsewhere.invalid is not in MCP_EGRESS_ALLOWED_HOSTS');
    const sse = await gw.registerServer({ tenant: 'acme', actor, name: 'off-sse', transport: 'sse', url: 'http://mcp.elsewhere.invalid/sse', egress: 'public' });
    expect(sse.healthReason).to.include('not in MCP_EGRESS_ALLOWED_HOSTS');
    const denied = await gw.registerServer({ tenant: 'acme', actor, name: 'denied', transport: 'http', url: 'http://203.0.113.9/mcp', egress: 'public' });
    expect(denied.health).to.equal('down');
    // Named as the setting's, not as an internal address (which 203.0.113.9 is not): the operator sees why.
    expect(denied.healthReason).to.include('203.0.113.9 resolves to an address in MCP_EGRESS_DENIED_NETWORKS:');
  });

  it("the host operator's own servers (no egress) are not held by the rules", async () => {
    const own = await gw.registerServer({ tenant: 'acme', actor, name: 'own', transport: 'http', url: 'http://mcp.elsewhere.invalid/mcp' });
    expect(own.healthReason ?? '').to.not.include('MCP_EGRESS_ALLOWED_HOSTS');
  });
});
