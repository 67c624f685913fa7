import { expect } from 'chai';
import { SignJWT } from 'jose';
import { createJwtVerifier } from '../../src/auth/jwt';
import { makeHarness, type Harness } from './support/harness';
import { roomInRateWindow } from '../support/rate-window';

const SECRET = 'a-test-secret-that-is-at-least-32-chars!';
const jwt = (tenant: string, role: string, sub: string) =>
  new SignJWT({ tenant, role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(Buffer.from(SECRET));

describe('Authentication over REST: JWT principals, and keys never logged', () => {
  let h: Harness;
  before(async () => {
    h = await makeHarness({ jwt: createJwtVerifier({ JWT_SECRET: SECRET }) });
  });
  after(() => h.close());

  it('a JWT caller acts in its tenant with its sub as actor; another tenant cannot see the task', async () => {
    const token = await jwt('acme', 'agent', 'agent-7');
    const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: `Bearer ${token}`, payload: { instruction: 'hi' } });
    expect(res.statusCode).to.equal(202);
    const [e] = await h.store.readStream(`task-${res.json().id}`);
    expect(e.actor).to.deep.equal({ kind: 'agent', id: 'agent-7' });
    expect(e.tenant).to.equal('acme');
    const other = await h.call({ method: 'GET', url: `/v1/tasks/${res.json().id}`, auth: `Bearer ${await jwt('beta', 'viewer', 'v')}` });
    expect(other.statusCode).to.equal(404);
    const viewer = await h.call({ method: 'POST', url: '/v1/tasks', auth: `Bearer ${await jwt('acme', 'viewer', 'v')}`, payload: { instruction: 'hi' } });
    expect(viewer.statusCode).to.equal(403);
  });

  it("a JWT whose sub is an API key's id is refused (401 naming the sub claim), never recorded as that key's actor", async () => {
    const key = await h.key('operator', 'acme');
    const head = await h.store.headPosition();
    const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: `Bearer ${await jwt('acme', 'operator', key.id)}`, payload: { instruction: 'hi' } });
    expect(res.statusCode, res.body).to.equal(401);
    expect(res.json()).to.include({ code: 'UNAUTHENTICATED' });
    expect(res.json().detail).to.match(/sub claim has the form of an API key id/);
    expect(await h.store.headPosition()).to.equal(head);
  });

  it('every 401 carries the challenge `WWW-Authenticate: Bearer` (RFC 9110 §15.5.2 requires one; /mcp sent it, /v1 did not), documented in the OpenAPI 401 answers', async () => {
    const expired = await new SignJWT({ tenant: 'acme', role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('v').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(Buffer.from(SECRET));
    for (const auth of [undefined, 'Basic Zm9vOmJhcg==', 'Bearer omk_not-a-key', `Bearer ${expired}`]) {
      const res = await h.call({ method: 'GET', url: '/v1/tasks', ...(auth ? { auth } : {}) });
      expect(res.statusCode, String(auth)).to.equal(401);
      expect(res.headers['www-authenticate'], String(auth)).to.equal('Bearer');
    }
    const ok = await h.call({ method: 'GET', url: '/v1/tasks', auth: (await h.key('viewer', 'acme')).auth });
    expect(ok.statusCode).to.equal(200);
    expect(ok.headers['www-authenticate']).to.equal(undefined);
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    expect(doc.paths['/v1/tasks'].get.responses['401'].headers).to.have.property('www-authenticate');
    expect(doc.paths['/v1/tasks'].get.responses['403'].headers).to.not.have.property('www-authenticate');
  });

  it('per-key rate limits of JWT callers are per tenant and sub: the same sub in another tenant is another caller', async () => {
    // The windows are the clock's minutes: the requests below, within one (see test/support/rate-window.ts).
    await roomInRateWindow(10_000);
    const limited = await makeHarness({ jwt: createJwtVerifier({ JWT_SECRET: SECRET }), rateLimit: { perKeyPerMinute: 2, perTenantPerMinute: 100 } });
    try {
      const acme = `Bearer ${await jwt('acme', 'viewer', 'bot')}`;
      const beta = `Bearer ${await jwt('beta', 'viewer', 'bot')}`;
      for (let i = 0; i < 3; i++) await limited.call({ method: 'GET', url: '/v1/tasks', auth: acme });
      expect((await limited.call({ method: 'GET', url: '/v1/tasks', auth: acme })).statusCode).to.equal(429);
      expect((await limited.call({ method: 'GET', url: '/v1/tasks', auth: beta })).statusCode).to.equal(200);
    } finally {
      await limited.close();
    }
  });

  it('a forbidden request (403) counts against the key\'s and the tenant\'s windows: a key cannot probe routes its role lacks without end; a bad key counts against neither', async () => {
    await roomInRateWindow(10_000);
    const limited = await makeHarness({ rateLimit: { perKeyPerMinute: 2, perTenantPerMinute: 3 } });
    try {
      const viewer = await limited.key('viewer', 'acme');
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await limited.call({ method: 'GET', url: '/v1/keys', auth: viewer.auth })).statusCode);
      expect(codes).to.deep.equal([403, 403, 429]);
      const refused = await limited.call({ method: 'GET', url: '/v1/tasks', auth: viewer.auth });
      expect(refused.statusCode, 'its permitted routes are over the limit too').to.equal(429);
      expect(refused.json()).to.include({ code: 'RATE_LIMITED' });
      expect(Number(refused.headers['retry-after'])).to.be.greaterThan(0);
      // The tenant's window took the key's four requests (3 allowed): another key of the tenant is refused, one of another tenant is not.
      expect((await limited.call({ method: 'GET', url: '/v1/tasks', auth: (await limited.key('viewer', 'acme')).auth })).statusCode).to.equal(429);
      expect((await limited.call({ method: 'GET', url: '/v1/tasks', auth: (await limited.key('viewer', 'beta')).auth })).statusCode).to.equal(200);
      // Unknown keys are 401, counted per client address (RATE_LIMIT_AUTH_FAILURES), not in a key's or tenant's window.
      const other = await limited.key('viewer', 'gamma');
      for (let i = 0; i < 3; i++) expect((await limited.call({ method: 'GET', url: '/v1/tasks', auth: 'Bearer omk_' + 'Z'.repeat(43) })).statusCode).to.equal(401);
      expect((await limited.call({ method: 'GET', url: '/v1/tasks', auth: other.auth })).statusCode).to.equal(200);
    } finally {
      await limited.close();
    }
  });

  it("a request's log lines name who made it (key id or token subject, and tenant), never the credential", async () => {
    const viewer = await h.key('viewer', 'acme');
    h.logs.length = 0;
    await h.call({ method: 'GET', url: '/v1/tasks', auth: viewer.auth, headers: { 'x-request-id': 'who-1' } });
    await h.call({ method: 'POST', url: '/v1/tasks', auth: viewer.auth, payload: { instruction: 'x' }, headers: { 'x-request-id': 'who-2' } });
    await h.call({ method: 'GET', url: '/v1/tasks', auth: `Bearer ${await jwt('beta', 'viewer', 'vic')}`, headers: { 'x-request-id': 'who-3' } });
    const lines = h.logs.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = (id: string) => lines.find((l) => l.reqId === id && l.msg === 'request completed');
    expect(done('who-1')).to.include({ tenant: 'acme', subject: viewer.id });
    expect(done('who-2')).to.include({ tenant: 'acme', subject: viewer.id });
    expect(lines.find((l) => l.reqId === 'who-2' && l.code === 'FORBIDDEN')).to.include({ subject: viewer.id });
    expect(done('who-3')).to.include({ tenant: 'beta', subject: 'jwt:beta:vic' });
    expect(h.logs.join('')).to.not.include(viewer.key);
  });

  it('keys and tokens never appear in the logs, even when requests fail (log scan)', async () => {
    const admin = await h.key('admin', 'acme');
    const token = await jwt('acme', 'operator', 'op');
    const created = (await h.call({ method: 'POST', url: '/v1/keys', auth: admin.auth, payload: { role: 'viewer', tenant: 'acme' } })).json();
    const secrets = [admin.key, token, created.key, 'omk_' + 'Z'.repeat(43)];
    await h.call({ method: 'GET', url: '/v1/tasks', auth: `Bearer ${created.key}` });
    await h.call({ method: 'GET', url: '/v1/tasks', auth: `Bearer ${token}` });
    await h.call({ method: 'GET', url: '/v1/tasks', auth: `Bearer ${secrets[3]}` });
    await h.call({ method: 'POST', url: '/v1/tasks', auth: admin.auth, payload: '{bad', headers: { 'content-type': 'application/json' } });
    await h.call({ method: 'DELETE', url: `/v1/keys/${created.id}`, auth: admin.auth });
    await h.call({ method: 'GET', url: '/v1/tasks', auth: `Bearer ${created.key}` });
    h.app.log.info({ headers: { authorization: `Bearer ${admin.key}` }, key: admin.key }, 'a careless log line');
    const text = h.logs.join('');
    expect(h.logs.length).to.be.greaterThan(10);
    expect(text).to.include('[redacted]');
    for (const s of secrets) expect(text.includes(s), 'a secret in the logs').to.equal(false);
    // And the key is never returned again after creation.
    const listed = await h.call({ method: 'GET', url: '/v1/keys', auth: admin.auth });
    expect(listed.body.includes(created.key)).to.equal(false);
  });
});
