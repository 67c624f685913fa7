import { expect } from 'chai';
import { makeHarness, type Harness } from './support/harness';

/**
 * POST /v1/keys with an Idempotency-Key, as POST /v1/tasks takes it: a retry whose first answer
 * was lost never issues a second key. The secret is shown once, in the first answer: a retry
 * learns which key was issued (409 API_KEY_ALREADY_ISSUED with its id), never the secret, which
 * is not kept anywhere to show again.
 */
describe('POST /v1/keys with Idempotency-Key: a retried POST never issues a second key', () => {
  let h: Harness;
  let acme: string;
  let beta: string;
  const VIEWER = { role: 'viewer', tenant: 'acme', name: 'ci' };

  before(async () => {
    h = await makeHarness({ maxKeysPerTenant: 100 });
    acme = (await h.key('admin', 'acme')).auth;
    beta = (await h.key('admin', 'beta')).auth;
  });
  after(() => h.close());

  const create = (key: string | string[] | undefined, body: object = VIEWER, auth = acme) =>
    h.call({ method: 'POST', url: '/v1/keys', auth, payload: body, headers: key === undefined ? {} : { 'idempotency-key': key as string } });
  const created = async (type = 'ApiKeyCreated') => (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === type);

  it('a retry with the same key and body: 409 API_KEY_ALREADY_ISSUED naming the key issued (id, not the secret), Idempotent-Replayed, nothing recorded or stored', async () => {
    const first = await create('mint-1');
    expect(first.statusCode).to.equal(201);
    expect(first.headers['idempotent-replayed']).to.equal(undefined);
    const { id, key } = first.json();
    const head = await h.store.headPosition();
    const listed = (await h.call({ method: 'GET', url: '/v1/keys', auth: acme })).json().items.length;
    const again = await create('mint-1', { name: 'ci', tenant: 'acme', role: 'viewer' });
    expect(again.statusCode, again.body).to.equal(409);
    expect(again.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(again.headers['idempotent-replayed']).to.equal('true');
    expect(again.headers['cache-control']).to.equal('no-store');
    const problem = again.json();
    expect(problem).to.include({ code: 'API_KEY_ALREADY_ISSUED', keyId: id, field: 'headers.idempotency-key' });
    expect(problem.detail).to.include(id).and.to.include(`DELETE /v1/keys/${id}`);
    expect(again.body).not.to.include(key);
    expect(await h.store.headPosition()).to.equal(head);
    expect((await h.call({ method: 'GET', url: '/v1/keys', auth: acme })).json().items).to.have.length(listed);
    // The first key works; the retry took nothing from it.
    expect((await h.call({ method: 'GET', url: '/v1/tasks', auth: `Bearer ${key}` })).statusCode).to.equal(200);
  });

  it('nothing secret is kept for a retry: the key store holds no secret and not the Idempotency-Key either, only digests', async () => {
    const first = await create('mint-secret-check');
    const { id, key } = first.json();
    const rows = JSON.stringify(await h.knex('api_keys').where({ id }));
    expect(rows).not.to.include(key);
    expect(rows).not.to.include('mint-secret-check');
    expect(JSON.stringify(await h.store.readStream(`apikey-${id}`))).not.to.include('mint-secret-check');
  });

  it('the same key with another body: 422 IDEMPOTENCY_KEY_REUSED naming the header, nothing issued', async () => {
    expect((await create('mint-2')).statusCode).to.equal(201);
    const before = (await created()).length;
    const other = await create('mint-2', { ...VIEWER, name: 'other' });
    expect(other.statusCode).to.equal(422);
    expect(other.json()).to.include({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'headers.idempotency-key' });
    expect((await created()).length).to.equal(before);
  });

  it('agents in another order are the same request', async () => {
    const body = { role: 'agent', tenant: 'acme', agents: ['a1', 'a2'] };
    expect((await create('mint-agents', body)).statusCode).to.equal(201);
    expect((await create('mint-agents', { ...body, agents: ['a2', 'a1'] })).json().code).to.equal('API_KEY_ALREADY_ISSUED');
  });

  it('concurrent duplicates issue one key; the others are told it is issued, or still being issued (409, Retry-After)', async () => {
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => create('mint-burst', { role: 'viewer', tenant: 'acme' })));
    const statuses = answers.map((r) => r.statusCode).sort();
    expect(statuses).to.deep.equal([201, 409, 409, 409, 409]);
    const id = answers.find((r) => r.statusCode === 201)!.json().id;
    for (const r of answers.filter((a) => a.statusCode === 409)) {
      const p = r.json();
      expect(['API_KEY_ALREADY_ISSUED', 'IDEMPOTENCY_KEY_IN_USE'], r.body).to.include(p.code);
      if (p.code === 'API_KEY_ALREADY_ISSUED') expect(p.keyId).to.equal(id);
      else expect(r.headers['retry-after']).to.equal('1');
    }
    expect((await created()).filter((e) => (e.data as { keyId: string }).keyId === id)).to.have.length(1);
  });

  it('scoped to the asking tenant: another tenant\'s admin using the same Idempotency-Key issues its own key', async () => {
    const a = await create('mint-shared', { role: 'viewer', tenant: 'beta' }, beta);
    expect(a.statusCode).to.equal(201);
    const b = await create('mint-shared', { role: 'viewer', tenant: 'acme' });
    expect(b.statusCode, 'acme').to.equal(201);
  });

  it("a tenant admin whose Idempotency-Key a cross-tenant admin of its tenant used for another tenant's key: 422 naming no key of that tenant", async () => {
    const root = (await h.key('admin', 'acme', true)).auth;
    const theirs = await create('mint-reach', { role: 'viewer', tenant: 'beta' }, root);
    expect(theirs.statusCode).to.equal(201);
    const betaKeyId = theirs.json().id;
    const mine = await create('mint-reach', { role: 'viewer', tenant: 'acme' });
    expect(mine.statusCode).to.equal(422);
    expect(mine.json()).to.include({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'headers.idempotency-key' });
    expect(mine.body, "beta's key stays unknown to acme's admin (its id is 404 to it)").not.to.include(betaKeyId);
    // The cross-tenant admin, who reaches beta, is told which key as before.
    const again = await create('mint-reach', { role: 'viewer', tenant: 'acme' }, root);
    expect(again.json()).to.include({ code: 'IDEMPOTENCY_KEY_REUSED', keyId: betaKeyId });
  });

  it('a retry at the tenant\'s key limit still learns its key (not API_KEY_LIMIT)', async () => {
    const h2 = await makeHarness({ maxKeysPerTenant: 1 });
    try {
      const admin = (await h2.key('admin', 'gamma', true)).auth;
      const first = await h2.call({ method: 'POST', url: '/v1/keys', auth: admin, payload: { role: 'viewer', tenant: 'delta' }, headers: { 'idempotency-key': 'only-one' } });
      expect(first.statusCode).to.equal(201);
      const again = await h2.call({ method: 'POST', url: '/v1/keys', auth: admin, payload: { role: 'viewer', tenant: 'delta' }, headers: { 'idempotency-key': 'only-one' } });
      expect(again.json()).to.include({ code: 'API_KEY_ALREADY_ISSUED', keyId: first.json().id });
      const fresh = await h2.call({ method: 'POST', url: '/v1/keys', auth: admin, payload: { role: 'viewer', tenant: 'delta' } });
      expect(fresh.json().code).to.equal('API_KEY_LIMIT');
    } finally {
      await h2.close();
    }
  });

  it('a key revoked since: the retry names it all the same, and says it is revoked', async () => {
    const { id } = (await create('mint-revoked')).json();
    expect((await h.call({ method: 'DELETE', url: `/v1/keys/${id}`, auth: acme })).statusCode).to.equal(204);
    const again = await create('mint-revoked');
    expect(again.json()).to.include({ code: 'API_KEY_ALREADY_ISSUED', keyId: id });
    expect(again.json().detail).to.include('revoked');
  });

  it('refuses an Idempotency-Key given twice or out of form (400 naming the header), issuing nothing', async () => {
    const before = (await created()).length;
    const twice = await h.app.inject({ method: 'POST', url: '/v1/keys', payload: VIEWER, headers: { authorization: acme, 'idempotency-key': ['a', 'b'] } });
    expect(twice.statusCode).to.equal(400);
    expect(twice.json()).to.include({ code: 'VALIDATION_FAILED', field: 'headers.idempotency-key' });
    expect(twice.json().detail).to.include('given 2 times');
    for (const bad of [' padded', 'x'.repeat(256), 'tab\there']) {
      const res = await create(bad);
      expect(res.statusCode, JSON.stringify(bad)).to.equal(400);
      expect(res.json().field).to.equal('headers.idempotency-key');
    }
    expect((await created()).length).to.equal(before);
  });

  it('without the header, each POST issues a new key as before', async () => {
    const a = await create(undefined);
    const b = await create(undefined);
    expect([a.statusCode, b.statusCode]).to.deep.equal([201, 201]);
    expect(a.json().id).not.to.equal(b.json().id);
  });
});
