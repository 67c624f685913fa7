import { expect } from 'chai';
import { generateApiKey } from '../../src/auth/api-key';
import { createAuthenticator, mcpAuthenticate } from '../../src/auth/authenticator';
import type { KeyStore } from '../../src/auth/key-store';
import { MemoryKeyStore } from '../../src/auth/memory-key-store';
import type { Hex } from '../../src/core/hex';
import { createJwtVerifier, JWT_CLOCK_TOLERANCE_S } from '../../src/auth/jwt';
import { SignJWT } from 'jose';

async function setup() {
  const keys = new MemoryKeyStore();
  const g = generateApiKey();
  await keys.insert({ id: '01900000-0000-7000-8000-000000000001', tenant: 'acme', role: 'agent', crossTenant: false, prefix: g.prefix, hash: g.hash, createdAt: '', createdBy: 't' });
  return { keys, g, auth: createAuthenticator({ keys }) };
}

const code = (p: Promise<unknown>) => p.then(() => 'accepted', (e) => e.code);

describe('Authenticator', () => {
  it('maps a key to its principal; the same answer for missing, malformed, unknown and revoked', async () => {
    const { keys, g, auth } = await setup();
    expect(await auth.authenticate(`Bearer ${g.key}`)).to.deep.include({ tenant: 'acme', role: 'agent', actor: { kind: 'agent', id: '01900000-0000-7000-8000-000000000001' } });
    expect(await code(auth.authenticate(undefined))).to.equal('UNAUTHENTICATED');
    expect(await code(auth.authenticate('Token x'))).to.equal('UNAUTHENTICATED');
    expect(await code(auth.authenticate(`Bearer ${generateApiKey().key}`))).to.equal('UNAUTHENTICATED');
    expect(await code(auth.authenticate('Bearer short'))).to.equal('UNAUTHENTICATED');
    await keys.revoke('01900000-0000-7000-8000-000000000001', 'now');
    auth.forget(g.hash);
    expect(await code(auth.authenticate(`Bearer ${g.key}`))).to.equal('UNAUTHENTICATED');
    // No oracle: a revoked key reads exactly as one that never existed.
    const message = (p: Promise<unknown>) => p.then(() => 'accepted', (e) => e.message);
    expect(await message(auth.authenticate(`Bearer ${g.key}`))).to.equal(await message(auth.authenticate(`Bearer ${generateApiKey().key}`)));
  });

  it('says an over-long bearer value is too long rather than malformed', async () => {
    const { auth } = await setup();
    const e = await auth.authenticate(`Bearer ${'a'.repeat(8193)}`).catch((err) => err);
    expect(e).to.include({ code: 'UNAUTHENTICATED', message: 'bearer token longer than 8192 characters' });
    expect(await auth.authenticate('Bearer a b').catch((err) => err.message)).to.equal('Authorization must be "Bearer <api key or JWT>"');
  });

  it('a revocation also ends the per-connection memo at once', async () => {
    const { keys, g, auth } = await setup();
    const socket = {};
    await auth.authenticate(`Bearer ${g.key}`, socket);
    expect((await auth.authenticate(`Bearer ${g.key}`, socket)).tenant).to.equal('acme');
    await keys.revoke('01900000-0000-7000-8000-000000000001', 'now');
    auth.forget(g.hash);
    expect(await code(auth.authenticate(`Bearer ${g.key}`, socket))).to.equal('UNAUTHENTICATED');
  });

  it('a lookup in flight while the key is revoked here does not put it back in the cache or the memo', async () => {
    const { keys, g } = await setup();
    // The store answers the lookup (key active), then the revocation and its forget() run before
    // that request resumes: what it learnt is already stale.
    let release!: () => void;
    let looked!: () => void;
    const lookedUp = new Promise<void>((r) => (looked = r));
    let hold = true;
    const slow: KeyStore = Object.assign(Object.create(keys) as MemoryKeyStore, {
      async findByHash(hash: Hex) {
        const r = await keys.findByHash(hash);
        if (hold) {
          hold = false;
          looked();
          await new Promise<void>((resume) => (release = resume));
        }
        return r;
      },
    });
    const auth = createAuthenticator({ keys: slow });
    const socket = {};
    const inFlight = auth.authenticate(`Bearer ${g.key}`, socket);
    await lookedUp;
    await keys.revoke('01900000-0000-7000-8000-000000000001', 'now');
    auth.forget(g.hash);
    release();
    await inFlight;
    expect(await code(auth.authenticate(`Bearer ${g.key}`, socket)), 'same connection').to.equal('UNAUTHENTICATED');
    expect(await code(auth.authenticate(`Bearer ${g.key}`, {})), 'another connection').to.equal('UNAUTHENTICATED');
  });

  it('revoked by another process (no forget here): refused once the ttl since the store lookup is over, on a connection first used late too', async () => {
    const keys = new MemoryKeyStore();
    const g = generateApiKey();
    await keys.insert({ id: '01900000-0000-7000-8000-000000000002', tenant: 'acme', role: 'agent', crossTenant: false, prefix: g.prefix, hash: g.hash, createdAt: '', createdBy: 't' });
    // Long enough that the check at 250 ms is inside it however slow the machine (400 ms left 150 ms).
    const ttl = 1_500;
    const auth = createAuthenticator({ keys, cacheTtlMs: ttl });
    const t0 = Date.now();
    await auth.authenticate(`Bearer ${g.key}`, {}); // the store lookup
    await keys.revoke('01900000-0000-7000-8000-000000000002', 'now'); // elsewhere: this process is not told
    await new Promise((r) => setTimeout(r, 250));
    const late = {};
    expect((await auth.authenticate(`Bearer ${g.key}`, late)).tenant, 'still inside the ttl').to.equal('acme');
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + ttl + 100 - Date.now())));
    // Before: the late connection's memo ran a full ttl from its own first use (up to 2 × ttl after the lookup).
    expect(await code(auth.authenticate(`Bearer ${g.key}`, late))).to.equal('UNAUTHENTICATED');
  });

  it("mcpAuthenticate hands on a JWT's expiry (the gateway ends an open stream by it); keys carry none", async () => {
    const { keys, g } = await setup();
    const SECRET = 'a-test-secret-that-is-at-least-32-chars!';
    const auth = createAuthenticator({ keys, jwt: createJwtVerifier({ JWT_SECRET: SECRET }) });
    const exp = Math.floor(Date.now() / 1000) + 300;
    const token = await new SignJWT({ tenant: 'acme', role: 'agent' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bot').setExpirationTime(exp).sign(Buffer.from(SECRET));
    const viaMcp = mcpAuthenticate(auth);
    expect((await viaMcp({ headers: { authorization: `Bearer ${token}` } }))?.expiresAt).to.equal((exp + JWT_CLOCK_TOLERANCE_S) * 1000);
    expect(await viaMcp({ headers: { authorization: `Bearer ${g.key}` } })).to.not.have.property('expiresAt');
  });

  it("mcpAuthenticate names a key's credential by its hash (a value replaced under the same id is another one); a JWT has none", async () => {
    const { keys, g } = await setup();
    const SECRET = 'a-test-secret-that-is-at-least-32-chars!';
    const viaMcp = mcpAuthenticate(createAuthenticator({ keys, jwt: createJwtVerifier({ JWT_SECRET: SECRET }) }));
    expect((await viaMcp({ headers: { authorization: `bearer  ${g.key} ` } }))?.credential).to.equal(g.hash);
    const token = await new SignJWT({ tenant: 'acme', role: 'agent' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bot').setExpirationTime('5m').sign(Buffer.from(SECRET));
    expect(await viaMcp({ headers: { authorization: `Bearer ${token}` } })).to.not.have.property('credential');
  });

  it('mcpAuthenticate counts /mcp requests against the rate limiter, after the key check, and lets its refusal through', async () => {
    const { g, auth } = await setup();
    let counted = 0;
    const limited = mcpAuthenticate(auth, async () => {
      if (++counted > 2) throw Object.assign(new Error('rate limit per key exceeded; retry after 7 s'), { status: 429, retryAfterSeconds: 7 });
    });
    const req = { headers: { authorization: `Bearer ${g.key}` } };
    expect(await limited(req)).to.not.equal(null);
    expect(await limited(req)).to.not.equal(null);
    expect(await limited(req).then(() => 'ok', (e: { status: number }) => e.status)).to.equal(429);
    expect(await limited({ headers: { authorization: 'Bearer nope-nope-nope-nope' } }), 'a bad key is refused before it is counted').to.equal(null);
    expect(counted).to.equal(3);
  });

  it('mcpAuthenticate counts a valid key refused for its role (403) against the rate limiter too: over it, 429 instead', async () => {
    const { keys, auth } = await setup();
    const viewer = generateApiKey();
    await keys.insert({ id: '01900000-0000-7000-8000-000000000003', tenant: 'acme', role: 'viewer', crossTenant: false, prefix: viewer.prefix, hash: viewer.hash, createdAt: '', createdBy: 't' });
    let counted = 0;
    const limited = mcpAuthenticate(auth, async () => {
      if (++counted > 2) throw Object.assign(new Error('rate limit per key exceeded; retry after 7 s'), { status: 429, retryAfterSeconds: 7 });
    });
    const req = { headers: { authorization: `Bearer ${viewer.key}` } };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push(await limited(req).then(() => 200, (e: { status: number }) => e.status));
    expect(statuses).to.deep.equal([403, 403, 429]);
    expect(counted).to.equal(3);
  });

  it('the memo is per header: another key on the same connection is checked on its own', async () => {
    const { g, auth } = await setup();
    const socket = {};
    await auth.authenticate(`Bearer ${g.key}`, socket);
    expect(await code(auth.authenticate(`Bearer ${generateApiKey().key}`, socket))).to.equal('UNAUTHENTICATED');
  });

  it('mcpAuthenticate gives the /mcp plugin {tenant, actor} for roles with mcp:call, FORBIDDEN for a valid key of another role, null for a bad key', async () => {
    const { keys, g, auth } = await setup();
    const viewer = generateApiKey();
    await keys.insert({ id: '01900000-0000-7000-8000-000000000002', tenant: 'acme', role: 'viewer', crossTenant: false, prefix: viewer.prefix, hash: viewer.hash, createdAt: '', createdBy: 't' });
    const mcp = mcpAuthenticate(auth);
    expect(await mcp({ headers: { authorization: `Bearer ${g.key}` } })).to.deep.include({ tenant: 'acme', actor: { kind: 'agent', id: '01900000-0000-7000-8000-000000000001' } });
    const refused = (await mcp({ headers: { authorization: `Bearer ${viewer.key}` } }).then(() => null, (e: unknown) => e)) as { code?: string; status?: number } | null;
    expect(refused).to.deep.include({ code: 'FORBIDDEN', status: 403 });
    expect(await mcp({ headers: {} })).to.equal(null);
    expect(await mcp({ headers: { authorization: 'Bearer nope-nope-nope-nope' } })).to.equal(null);
  });
});
