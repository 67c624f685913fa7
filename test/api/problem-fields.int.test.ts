import { expect } from 'chai';
import { assertTaskRunnable } from '../../src/agent/runtime/assert-task-runnable';
import { makeHarness, type Harness } from './support/harness';

/**
 * docs/errors.md: a problem's `field` names the input as `<body|querystring|params>.<path>`, the
 * form schema failures have; refusals made after validation said `tenant`, `crossTenant` or
 * `instruction` alone, so a client mapping `field` to its form could not place them.
 */
describe('REST problems: `field` is <body|querystring|params>.<path> for refusals after validation too', () => {
  let h: Harness;
  let acmeAdmin: string;
  let root: string;

  before(async () => {
    h = await makeHarness({ assertTaskRunnable: (task) => assertTaskRunnable({}, task) });
    acmeAdmin = (await h.key('admin', 'acme')).auth;
    root = (await h.key('admin', 'default', true)).auth;
  });
  after(() => h.close());

  const fieldOf = async (o: { method: 'GET' | 'POST'; url: string; auth: string; payload?: Record<string, unknown> }, status: number) => {
    const res = await h.call(o);
    expect(res.statusCode, res.body).to.equal(status);
    return res.json().field;
  };

  it('keys: another tenant (body.tenant, querystring.tenant), a cross-tenant key (body.crossTenant)', async () => {
    expect(await fieldOf({ method: 'POST', url: '/v1/keys', auth: acmeAdmin, payload: { role: 'viewer', tenant: 'beta' } }, 403)).to.equal('body.tenant');
    expect(await fieldOf({ method: 'GET', url: '/v1/keys?tenant=beta', auth: acmeAdmin }, 403)).to.equal('querystring.tenant');
    expect(await fieldOf({ method: 'POST', url: '/v1/keys', auth: acmeAdmin, payload: { role: 'auditor', tenant: 'acme', crossTenant: true } }, 403)).to.equal('body.crossTenant');
    expect(await fieldOf({ method: 'POST', url: '/v1/keys', auth: root, payload: { role: 'agent', tenant: 'ops', crossTenant: true } }, 403)).to.equal('body.crossTenant');
  });

  it('tasks: a natural-language task without an LLM (422 LLM_NOT_CONFIGURED, body.instruction)', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: acmeAdmin, payload: { instruction: 'say hello' } });
    expect(res.statusCode).to.equal(422);
    expect(res.json()).to.include({ code: 'LLM_NOT_CONFIGURED', field: 'body.instruction' });
  });
});
