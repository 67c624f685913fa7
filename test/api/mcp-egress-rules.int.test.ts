import { expect } from 'chai';
import { egressRulesFrom } from '../../src/mcp/egress-rules';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';

// The host operator's limits on where tenants' servers connect (MCP_EGRESS_ALLOWED_HOSTS,
// MCP_EGRESS_DENIED_NETWORKS), at registration; at each connection: public-only-fetch.int.test.ts.
describe('POST /v1/mcp-servers under MCP_EGRESS_ALLOWED_HOSTS and MCP_EGRESS_DENIED_NETWORKS', function () {
  this.timeout(60_000);
  let h: Harness;
  let close: () => Promise<void>;
  let admin: string;
  let hostAdmin: string;
  let operator: string;

  before(async () => {
    const egress = egressRulesFrom({ allowedHosts: 'mcp.allowed.invalid,*.vendor.invalid,203.0.113.9', deniedNetworks: '203.0.113.0/24' });
    ({ h, close } = await makeGatewayHarness({ egress }, 2_000));
    admin = (await h.key('admin', 'acme')).auth;
    operator = (await h.key('operator', 'acme')).auth;
    hostAdmin = (await h.key('admin', 'acme', true)).auth;
  });
  after(async () => close());
  const register = (auth: string, name: string, url: string) => h.call({ method: 'POST', url: '/v1/mcp-servers', auth, payload: { name, transport: 'http', url } });
  const servers = async () => (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerRegistered').length;

  it("a tenant's admin or operator naming a host the list does not allow: 403 naming body.url and the setting, nothing recorded", async () => {
    const before = await servers();
    for (const [auth, url] of [
      [operator, 'https://mcp.other.invalid/mcp'],
      [admin, 'https://vendor.invalid/mcp'],
      [operator, 'https://mcp.allowed.invalid.evil.invalid/mcp'],
      [operator, 'https://203.0.113.10/mcp'],
    ]) {
      const res = await register(auth, 'probe', url);
      expect(res.statusCode, `${url}: ${res.body}`).to.equal(403);
      expect(res.json().code).to.equal('FORBIDDEN');
      expect(res.json().field).to.equal('body.url');
      expect(res.json().detail).to.include('MCP_EGRESS_ALLOWED_HOSTS');
    }
    expect(await servers()).to.equal(before);
  });

  it('a listed host, or a subdomain of a *. entry, is registered (egress "public"), in any letter case', async () => {
    for (const [name, url] of [['one', 'https://MCP.allowed.invalid/mcp'], ['two', 'https://eu.vendor.invalid/mcp']]) {
      const res = await register(operator, name, url);
      expect(res.statusCode, `${url}: ${res.body}`).to.equal(201);
      expect(res.json().egress).to.equal('public');
    }
  });

  it('an address in a denied network is refused as internal ones are (403 body.url), though listed as a host', async () => {
    const res = await register(operator, 'denied', 'https://203.0.113.9/mcp');
    expect(res.statusCode, res.body).to.equal(403);
    expect(res.json().field).to.equal('body.url');
    expect(res.json().detail).to.include('MCP_EGRESS_DENIED_NETWORKS');
  });

  it("a cross-tenant admin (the host operator's) is not held by either list", async () => {
    const res = await register(hostAdmin, 'host-own', 'https://203.0.113.9/mcp');
    expect(res.statusCode, res.body).to.equal(201);
    expect(res.json()).to.not.have.property('egress');
  });
});
