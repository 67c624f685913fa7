import { expect } from 'chai';
import { parseRoles, ROLE_NAMES } from '../../src/app/roles';
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
});
