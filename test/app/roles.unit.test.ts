import { expect } from 'chai';
import { connectsUpstreams, parseRoles, ROLE_NAMES } from '../../src/app/roles';
import { ConfigError } from '../../src/core/errors';

describe('roles', () => {
  it('runs every role by default', () => {
    const r = parseRoles('all');
    for (const n of ROLE_NAMES) expect(r[n], n).to.equal(true);
    expect(parseRoles('').all).to.equal(true);
  });

  it('runs only the listed roles', () => {
    const r = parseRoles('api, projector');
    expect(r.api && r.projector).to.equal(true);
    expect(r.sealer || r.anchorer || r.agent || r.relay || r.gateway || r.all).to.equal(false);
  });

  it('names OPENMCP_ROLES for an unknown role', () => {
    expect(() => parseRoles('api,sealr')).to.throw(ConfigError, /OPENMCP_ROLES.*api, gateway, relay/);
    expect(() => parseRoles('all,api')).to.throw(ConfigError, /OPENMCP_ROLES/);
  });

  it('connects to the upstream MCP servers only with a role that calls tools or shows them live (api, gateway, agent)', () => {
    const connecting = ROLE_NAMES.filter((n) => connectsUpstreams(parseRoles(n)));
    expect(connecting).to.deep.equal(['api', 'gateway', 'agent']);
    expect(connectsUpstreams(parseRoles('relay,projector,sealer,anchorer'))).to.equal(false);
    expect(connectsUpstreams(parseRoles('projector,agent'))).to.equal(true);
    expect(connectsUpstreams(parseRoles('all'))).to.equal(true);
  });
});
