import { expect } from 'chai';
import { BOOTSTRAP_KEY_ID } from '../../src/auth/key-service';
import { ensureAdminKey } from '../../src/auth/ensure-admin-key';
import { buildApp } from '../../src/api/build-app';
import { UnavailableError } from '../../src/core/errors';
import { makeHarness, type Harness } from './support/harness';

describe('REST /v1/keys', () => {
  let h: Harness;
  let root: string;
  let acmeAdmin: string;
  let betaAdmin: string;

  before(async () => {
    h = await makeHarness();
    root = `Bearer ${(await ensureAdminKey({ OPENMCP_ADMIN_KEY: 'bootstrap-admin-key-0123456789', dataDir: '/nonexistent' }, h.keys)).key}`;
    acmeAdmin = (await h.key('admin', 'acme')).auth;
    betaAdmin = (await h.key('admin', 'beta')).auth;
  });
  after(() => h.close());

  it('issues a key once (201), records ApiKeyCreated without key or hash, and the key works', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/keys', auth: acmeAdmin, payload: { role: 'agent', tenant: 'acme', name: 'ci' }, headers: { 'x-request-id': 'mk-1' } });
    expect(res.statusCode).to.equal(201);
    expect(res.headers['cache-control']).to.equal('no-store');
    const created = res.json();
    expect(created.key).to.match(/^omk_/);
    expect(created).to.include({ role: 'agent', tenant: 'acme', name: 'ci', crossTenant: false });
    const [e] = await h.store.readStream(`apikey-${created.id}`);
    expect(e).to.include({ type: 'ApiKeyCreated', tenant: 'acme', correlationId: 'mk-1' });
    expect(JSON.stringify(e)).not.to.include(created.key);
    expect(JSON.stringify(e)).not.to.include((await h.keys.get(created.id))!.hash);
    const use = await h.call({ method: 'GET', url: '/v1/tasks', auth: `Bearer ${created.key}` });
    expect(use.statusCode).to.equal(200);
    const listed = (await h.call({ method: 'GET', url: '/v1/keys', auth: acmeAdmin })).json();
    expect(JSON.stringify(listed)).not.to.include(created.key);
    expect(listed.items.find((x: { id: string }) => x.id === created.id)).to.not.have.property('hash');
  });

  it('a tenant admin cannot issue keys for another tenant or cross-tenant keys; the bootstrap admin can', async () => {
    const other = await h.call({ method: 'POST', url: '/v1/keys', auth: acmeAdmin, payload: { role: 'viewer', tenant: 'beta' } });
    expect(other.statusCode).to.equal(403);
    const cross = await h.call({ method: 'POST', url: '/v1/keys', auth: acmeAdmin, payload: { role: 'auditor', tenant: 'acme', crossTenant: true } });
    expect(cross.statusCode).to.equal(403);
    const ok = await h.call({ method: 'POST', url: '/v1/keys', auth: root, payload: { role: 'auditor', tenant: 'ops', crossTenant: true } });
    expect(ok.statusCode).to.equal(201);
    const agentCross = await h.call({ method: 'POST', url: '/v1/keys', auth: root, payload: { role: 'agent', tenant: 'ops', crossTenant: true } });
    expect(agentCross.json().field).to.equal('body.crossTenant');
  });

  it('400 for a bad role, tenant or unknown field; 403 for non-admins; 401 without a key', async () => {
    for (const [body, field] of [
      [{ role: 'root', tenant: 'acme' }, 'body.role'],
      [{ role: 'viewer', tenant: '../x' }, 'body.tenant'],
      [{ role: 'viewer', tenant: 'acme', key: 'omk_x' }, 'body.key'],
      [{ role: 'viewer' }, 'body.tenant'],
      // A name is printed by `openmcp keys list` on another admin's terminal: no escape sequences.
      [{ role: 'viewer', tenant: 'acme', name: 'ci\u001b]8;;http://evil\u0007' }, 'body.name'],
      [{ role: 'viewer', tenant: 'acme', name: 'two\nlines' }, 'body.name'],
    ] as const) {
      const res = await h.call({ method: 'POST', url: '/v1/keys', auth: acmeAdmin, payload: body });
      expect(res.statusCode).to.equal(400);
      expect(res.json().field).to.equal(field);
    }
    const op = (await h.key('operator', 'acme')).auth;
    expect((await h.call({ method: 'POST', url: '/v1/keys', auth: op, payload: { role: 'viewer', tenant: 'acme' } })).statusCode).to.equal(403);
    expect((await h.call({ method: 'GET', url: '/v1/keys', auth: op })).statusCode).to.equal(403);
    expect((await h.call({ method: 'GET', url: '/v1/keys' })).statusCode).to.equal(401);
  });

  it("refuses keys for the reserved tenant system (its events are the sealer's and anchorer's): 400 body.tenant; a key stored for it earlier does not authenticate", async () => {
    for (const tenant of ['system', 'SYSTEM']) {
      const res = await h.call({ method: 'POST', url: '/v1/keys', auth: root, payload: { role: 'auditor', tenant } });
      expect(res.statusCode, tenant).to.equal(400);
      expect(res.json().field).to.equal('body.tenant');
      expect(res.json().detail).to.include('reserved');
    }
    const old = await h.key('auditor', 'system');
    expect((await h.call({ method: 'GET', url: '/v1/events', auth: old.auth })).statusCode).to.equal(401);
  });

  it('lists keys of the own tenant only, pages with a cursor; the bootstrap admin sees all', async () => {
    for (let i = 0; i < 3; i++) await h.call({ method: 'POST', url: '/v1/keys', auth: betaAdmin, payload: { role: 'viewer', tenant: 'beta' } });
    const p1 = (await h.call({ method: 'GET', url: '/v1/keys?limit=2', auth: betaAdmin })).json();
    expect(p1.items).to.have.length(2);
    const p2 = (await h.call({ method: 'GET', url: `/v1/keys?limit=2&cursor=${p1.nextCursor}`, auth: betaAdmin })).json();
    expect([...p1.items, ...p2.items].every((x: { tenant: string }) => x.tenant === 'beta')).to.equal(true);
    expect(p1.items.length + p2.items.length).to.equal(4);
    expect((await h.call({ method: 'GET', url: '/v1/keys?tenant=acme', auth: betaAdmin })).statusCode).to.equal(403);
    const all = (await h.call({ method: 'GET', url: '/v1/keys?limit=200', auth: root })).json();
    expect([...new Set(all.items.map((x: { tenant: string }) => x.tenant))]).to.include.members(['acme', 'beta', 'default']);
    expect((await h.call({ method: 'GET', url: '/v1/keys?cursor=WyJldmVudHMiLDVd', auth: root })).json().code).to.equal('INVALID_CURSOR');
  });

  it('the last page has no nextCursor, a full one too (it led to an empty page), as on every other list', async () => {
    const gammaAdmin = (await h.key('admin', 'gamma')).auth;
    await h.call({ method: 'POST', url: '/v1/keys', auth: gammaAdmin, payload: { role: 'viewer', tenant: 'gamma' } });
    const only = (await h.call({ method: 'GET', url: '/v1/keys?limit=2', auth: gammaAdmin })).json();
    expect(only.items).to.have.length(2);
    expect(only).to.not.have.property('nextCursor');
    await h.call({ method: 'POST', url: '/v1/keys', auth: gammaAdmin, payload: { role: 'viewer', tenant: 'gamma' } });
    const p1 = (await h.call({ method: 'GET', url: '/v1/keys?limit=2', auth: gammaAdmin })).json();
    expect(p1.items).to.have.length(2);
    const p2 = (await h.call({ method: 'GET', url: `/v1/keys?limit=2&cursor=${p1.nextCursor}`, auth: gammaAdmin })).json();
    expect(p2.items).to.have.length(1);
    expect(p2).to.not.have.property('nextCursor');
    expect(new Set([...p1.items, ...p2.items].map((k: { id: string }) => k.id)).size).to.equal(3);
  });

  it('revokes (204, ApiKeyRevoked, key refused at once); twice is 409; other tenant 404; bootstrap key 403', async () => {
    const created = (await h.call({ method: 'POST', url: '/v1/keys', auth: acmeAdmin, payload: { role: 'viewer', tenant: 'acme' } })).json();
    const auth = `Bearer ${created.key}`;
    expect((await h.call({ method: 'GET', url: '/v1/tasks', auth })).statusCode).to.equal(200);
    expect((await h.call({ method: 'DELETE', url: `/v1/keys/${created.id}`, auth: betaAdmin })).statusCode).to.equal(404);
    const del = await h.call({ method: 'DELETE', url: `/v1/keys/${created.id}`, auth: acmeAdmin });
    expect(del.statusCode).to.equal(204);
    expect((await h.store.readStream(`apikey-${created.id}`)).map((e) => e.type)).to.deep.equal(['ApiKeyCreated', 'ApiKeyRevoked']);
    expect((await h.call({ method: 'GET', url: '/v1/tasks', auth })).statusCode).to.equal(401);
    expect((await h.call({ method: 'DELETE', url: `/v1/keys/${created.id}`, auth: acmeAdmin })).statusCode).to.equal(409);
    const bootstrap = await h.call({ method: 'DELETE', url: `/v1/keys/${BOOTSTRAP_KEY_ID}`, auth: root });
    expect(bootstrap.statusCode).to.equal(403);
    // docs/errors.md: a FORBIDDEN on a key named by its id names `id` (it named nothing for the bootstrap key).
    expect(bootstrap.json()).to.include({ code: 'FORBIDDEN', field: 'id' });
    expect((await h.call({ method: 'DELETE', url: '/v1/keys/not-a-uuid', auth: acmeAdmin })).statusCode).to.equal(400);
    expect((await h.call({ method: 'DELETE', url: '/v1/keys/01900000-0000-7000-8000-000000000000', auth: acmeAdmin })).statusCode).to.equal(404);
  });

  it('a tenant admin cannot revoke a cross-tenant key of its tenant (403, the key keeps working); a cross-tenant admin can', async () => {
    const defaultAdmin = (await h.key('admin', 'default')).auth;
    for (const role of ['admin', 'auditor']) {
      const cross = (await h.call({ method: 'POST', url: '/v1/keys', auth: root, payload: { role, tenant: 'default', crossTenant: true } })).json();
      const refused = await h.call({ method: 'DELETE', url: `/v1/keys/${cross.id}`, auth: defaultAdmin });
      expect(refused.statusCode).to.equal(403);
      expect(refused.json()).to.include({ code: 'FORBIDDEN', field: 'id' });
      expect((await h.call({ method: 'GET', url: '/v1/tasks', auth: `Bearer ${cross.key}` })).statusCode).to.equal(200);
      expect((await h.store.readStream(`apikey-${cross.id}`)).map((e) => e.type)).to.deep.equal(['ApiKeyCreated']);
      expect((await h.call({ method: 'DELETE', url: `/v1/keys/${cross.id}`, auth: root })).statusCode).to.equal(204);
    }
  });
});

/** Each key brings its own rate limit and its own /mcp sessions: a tenant holds only so many at once. */
describe('REST /v1/keys: MAX_API_KEYS_PER_TENANT', () => {
  let h: Harness;
  let root: string;
  before(async () => {
    h = await makeHarness({ maxKeysPerTenant: 3 });
    root = `Bearer ${(await ensureAdminKey({ OPENMCP_ADMIN_KEY: 'bootstrap-admin-key-0123456789', dataDir: '/nonexistent' }, h.keys)).key}`;
  });
  after(() => h.close());

  const create = (auth: string, tenant: string) => h.call({ method: 'POST', url: '/v1/keys', auth, payload: { role: 'viewer', tenant } });

  it("refuses a tenant's next active key past the limit (409 API_KEY_LIMIT naming the setting), records and stores nothing; another tenant has its own count; a revocation frees a place", async () => {
    const admin = await h.key('admin', 'acme');
    const first = (await create(admin.auth, 'acme')).json();
    expect((await create(admin.auth, 'acme')).statusCode).to.equal(201);
    const head = await h.store.headPosition();
    const stored = (await h.keys.list({ tenant: 'acme', limit: 100 })).length;
    const res = await create(admin.auth, 'acme');
    expect(res.statusCode).to.equal(409);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(res.json()).to.include({
      code: 'API_KEY_LIMIT',
      detail: 'tenant acme has 3 active API keys, as many as MAX_API_KEYS_PER_TENANT allows (3): revoke one first',
    });
    expect(await h.store.headPosition(), 'nothing recorded').to.equal(head);
    expect(await h.keys.list({ tenant: 'acme', limit: 100 }), 'nothing stored').to.have.length(stored);
    // The operator's bootstrap key (the CLI's `keys create` uses it) goes through the same door: it is refused too.
    expect((await create(root, 'acme')).json().code).to.equal('API_KEY_LIMIT');
    expect((await create((await h.key('admin', 'beta')).auth, 'beta')).statusCode, 'another tenant').to.equal(201);
    expect((await h.call({ method: 'DELETE', url: `/v1/keys/${first.id}`, auth: admin.auth })).statusCode).to.equal(204);
    expect((await create(admin.auth, 'acme')).statusCode, 'a revoked key does not count').to.equal(201);
    expect((await create(admin.auth, 'acme')).statusCode).to.equal(409);
  });

  it("does not count the bootstrap admin key (the configuration's own) against its tenant, and never refuses it: a full tenant default still gets it replaced at start", async () => {
    for (let i = 0; i < 3; i++) expect((await create(root, 'default')).statusCode, `key ${i + 1} of 3 besides the bootstrap key`).to.equal(201);
    expect((await create(root, 'default')).json().code).to.equal('API_KEY_LIMIT');
    const rotated = await ensureAdminKey({ OPENMCP_ADMIN_KEY: 'bootstrap-admin-key-rotated-9876543210', dataDir: '/nonexistent' }, h.keys);
    expect((await h.call({ method: 'GET', url: '/v1/keys', auth: `Bearer ${rotated.key}` })).statusCode).to.equal(200);
  });

  it('says how many to revoke for a tenant holding more keys than the limit (the setting lowered since they were issued)', async () => {
    // Issued while the limit was higher: 5 active, the limit now 3.
    const keys = await Promise.all(Array.from({ length: 5 }, () => h.key('admin', 'lowered')));
    const res = await create(keys[0].auth, 'lowered');
    expect(res.statusCode).to.equal(409);
    expect(res.json()).to.include({
      code: 'API_KEY_LIMIT',
      detail: 'tenant lowered has 5 active API keys, more than MAX_API_KEYS_PER_TENANT allows (3): revoke 3 first',
    });
  });

  it('the event store down while a key is recorded: 503 DEPENDENCY_UNAVAILABLE, no key shown, nothing listed, its place free at once', async () => {
    const admin = await h.key('admin', 'outage');
    await h.key('viewer', 'outage');
    // The same app's routes on an event store that refuses appends, then on the real one.
    const down = await buildApp({ ...h.deps, store: new Proxy(h.store, { get: (t, p) => (p === 'append' ? () => Promise.reject(new UnavailableError('event store (test)', 'append: ECONNRESET')) : Reflect.get(t, p)) }) });
    try {
      const res = await down.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: admin.auth }, payload: { role: 'viewer', tenant: 'outage' } });
      expect(res.statusCode).to.equal(503);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.json()).to.include({ code: 'DEPENDENCY_UNAVAILABLE' });
      expect(res.body).not.to.match(/omk_/);
    } finally {
      await down.close();
    }
    expect((await h.call({ method: 'GET', url: '/v1/keys', auth: admin.auth })).json().items, 'nothing listed').to.have.length(2);
    expect((await create(admin.auth, 'outage')).statusCode, 'the third place is free').to.equal(201);
  });

  it('says so in the OpenAPI document: POST /v1/keys answers 409 API_KEY_LIMIT, and 503 when no key was issued', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs/json' })).json();
    const op = doc.paths['/v1/keys'].post;
    expect(op.responses['409'].description).to.include('API_KEY_LIMIT');
    expect(op.responses['503'].description).to.include('no key was issued');
    expect(op.description).to.include('MAX_API_KEYS_PER_TENANT');
  });
});
