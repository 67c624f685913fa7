import { expect } from 'chai';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK } from 'jose';
import { createJwtVerifier, JWT_CLOCK_TOLERANCE_S } from '../../src/auth/jwt';
import { BOOTSTRAP_KEY_ID } from '../../src/auth/key-service';
import { ConfigError } from '../../src/core/errors';
import { newId } from '../../src/core/ids';

const SECRET = 'a-test-secret-that-is-at-least-32-chars!';
const claims = { tenant: 'acme', role: 'operator' };

const hs = (c: Record<string, unknown>, secret = SECRET, exp = '5m') =>
  new SignJWT(c).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt().setExpirationTime(exp).sign(Buffer.from(secret));

describe('JWT bearer verification', () => {
  it('HS256: maps sub, tenant and role to a principal', async () => {
    const verify = createJwtVerifier({ JWT_SECRET: SECRET })!;
    const token = await hs(claims);
    const p = await verify(token);
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp as number;
    expect(p).to.deep.equal({ tenant: 'acme', role: 'operator', actor: { kind: 'user', id: 'alice' }, crossTenant: false, via: 'jwt', subject: 'jwt:acme:alice', expiresAt: (exp + JWT_CLOCK_TOLERANCE_S) * 1000 });
    expect((await verify(await hs({ tenant: 'acme', role: 'agent' }))).actor.kind).to.equal('agent');
  });

  it('refuses a wrong secret, an expired token, missing or bad claims, alg none', async () => {
    const verify = createJwtVerifier({ JWT_SECRET: SECRET })!;
    const refused = async (t: string) => {
      try {
        await verify(t);
      } catch (err) {
        return (err as { code: string }).code;
      }
      return 'accepted';
    };
    expect(await refused(await hs(claims, 'another-secret-of-at-least-32-characters'))).to.equal('UNAUTHENTICATED');
    expect(await refused(await hs(claims, SECRET, '-1m'))).to.equal('UNAUTHENTICATED');
    expect(await refused(await hs({ role: 'operator' }))).to.equal('UNAUTHENTICATED');
    expect(await refused(await hs({ tenant: 'acme', role: 'root' }))).to.equal('UNAUTHENTICATED');
    expect(await refused(await hs({ tenant: '../x', role: 'viewer' }))).to.equal('UNAUTHENTICATED');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, sub: 'x' })).toString('base64url')}.`;
    expect(await refused(none)).to.equal('UNAUTHENTICATED');
  });

  it('an agents claim limits the principal to those agent ids; a malformed one is refused, never read as no limit', async () => {
    const verify = createJwtVerifier({ JWT_SECRET: SECRET })!;
    expect((await verify(await hs({ ...claims, agents: ['billing-bot', 'ops.bot:2'] }))).agents).to.deep.equal(['billing-bot', 'ops.bot:2']);
    expect(await verify(await hs(claims))).not.to.have.property('agents');
    for (const agents of ['billing-bot', [], ['*'], ['a b'], [7], ['a', 'a'], null, Array.from({ length: 101 }, (_, i) => `a${i}`)]) {
      let err: { code?: string; message?: string } = {};
      await verify(await hs({ ...claims, agents })).catch((e) => (err = e));
      expect(err, JSON.stringify(agents)).to.include({ code: 'UNAUTHENTICATED' });
      expect(err.message).to.include('agents claim');
    }
  });

  it('refuses a token without exp (it would never expire and cannot be revoked), and a sub with control characters', async () => {
    const verify = createJwtVerifier({ JWT_SECRET: SECRET })!;
    const noExp = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt().sign(Buffer.from(SECRET));
    let err: { code?: string; message?: string } = {};
    await verify(noExp).catch((e) => (err = e));
    expect(err).to.include({ code: 'UNAUTHENTICATED', message: 'token has no exp claim (tokens must expire)' });
    err = {};
    await verify(await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('a\nforged log line').setExpirationTime('5m').sign(Buffer.from(SECRET))).catch((e) => (err = e));
    expect(err).to.include({ code: 'UNAUTHENTICATED', message: 'token has no usable sub claim' });
  });

  it('refuses a sub with a lone UTF-16 surrogate (a payload escaping "\\ud800"): it would be the actor id of events, whose hash then only JavaScript reproduced', async () => {
    const verify = createJwtVerifier({ JWT_SECRET: SECRET })!;
    // Written by hand: jose's own signer encodes a lone surrogate as U+FFFD, an issuer elsewhere may not.
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const signed = (payloadJson: string) => {
      const head = `${b64('{"alg":"HS256"}')}.${b64(payloadJson)}`;
      return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
    };
    const exp = Math.floor(Date.now() / 1000) + 300;
    let err: { code?: string; message?: string } = {};
    await verify(signed(`{"sub":"alice\\ud800","tenant":"acme","role":"operator","exp":${exp}}`)).catch((e) => (err = e));
    expect(err).to.include({ code: 'UNAUTHENTICATED', message: 'token has no usable sub claim' });
    // A pair is text: the same token with an emoji in its sub is taken.
    expect((await verify(signed(`{"sub":"alice\\ud83d\\ude00","tenant":"acme","role":"operator","exp":${exp}}`))).actor.id).to.equal('alice\ud83d\ude00');
  });

  it("refuses a sub that has the form of an API key id (a UUIDv7, the bootstrap key's too): it would be taken for that key's holder", async () => {
    const verify = createJwtVerifier({ JWT_SECRET: SECRET })!;
    const as = (sub: string) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(Buffer.from(SECRET));
    for (const sub of [newId(), BOOTSTRAP_KEY_ID, newId().toUpperCase()]) {
      let err: { code?: string; message?: string } = {};
      await verify(await as(sub)).catch((e) => (err = e));
      expect(err, sub).to.include({ code: 'UNAUTHENTICATED' });
      expect(err.message, sub).to.match(/^token sub claim has the form of an API key id \(a UUIDv7\)/);
    }
    // Other UUIDs (an IdP's v4 user ids) and names are subjects as before.
    for (const sub of [randomUUID(), 'auth0|0193a0c0', `x-${newId()}`]) expect((await verify(await as(sub))).actor.id, sub).to.equal(sub);
  });

  it("refuses a token naming the reserved tenant system (the sealer's and anchorer's events), in any case", async () => {
    const verify = createJwtVerifier({ JWT_SECRET: SECRET })!;
    for (const tenant of ['system', 'System']) {
      let err: { code?: string; message?: string } = {};
      await verify(await hs({ tenant, role: 'auditor' })).catch((e) => (err = e));
      expect(err, tenant).to.include({ code: 'UNAUTHENTICATED', message: `token tenant claim names the reserved tenant ${tenant}` });
    }
  });

  it(`allows ${JWT_CLOCK_TOLERANCE_S} s of clock skew on exp and nbf, not more`, async () => {
    const verify = createJwtVerifier({ JWT_SECRET: SECRET })!;
    const now = Math.floor(Date.now() / 1000);
    const at = (c: { exp: number; nbf?: number }) => new SignJWT({ ...claims, ...c }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(Buffer.from(SECRET));
    expect((await verify(await at({ exp: now + 300, nbf: now + 10 }))).actor.id).to.equal('alice');
    expect((await verify(await at({ exp: now - 10 }))).actor.id).to.equal('alice');
    const codes = await Promise.all([at({ exp: now + 300, nbf: now + 120 }), at({ exp: now - 120 })].map(async (t) => verify(await t).then(() => 'accepted', (e) => e.code)));
    expect(codes).to.deep.equal(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
  });

  it('honours cross_tenant only for admin and auditor; checks issuer and audience when set', async () => {
    const verify = createJwtVerifier({ JWT_SECRET: SECRET, JWT_ISSUER: 'idp', JWT_AUDIENCE: 'openmcp' })!;
    const mk = (role: string) => new SignJWT({ tenant: 'ops', role, cross_tenant: true }).setProtectedHeader({ alg: 'HS256' }).setSubject('s').setIssuer('idp').setAudience('openmcp').setExpirationTime('5m').sign(Buffer.from(SECRET));
    expect((await verify(await mk('auditor'))).crossTenant).to.equal(true);
    expect((await verify(await mk('operator'))).crossTenant).to.equal(false);
    let code = '';
    await verify(await hs(claims)).catch((e) => (code = e.code));
    expect(code).to.equal('UNAUTHENTICATED');
  });

  it('ES256 with a PEM public key file, and RS256 with a JWKS file; HS256 tokens refused there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omcp-jwt-'));
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'ec.pem'), ec.publicKey.export({ type: 'spki', format: 'pem' }));
    const es = createJwtVerifier({ JWT_PUBLIC_KEY_FILE: join(dir, 'ec.pem') })!;
    const t = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).setSubject('bob').setExpirationTime('5m').sign(ec.privateKey);
    expect((await es(t)).actor.id).to.equal('bob');
    let code = '';
    await es(await hs(claims)).catch((e) => (code = e.code));
    expect(code).to.equal('UNAUTHENTICATED');

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
    const rs = createJwtVerifier({ JWT_JWKS_FILE: join(dir, 'jwks.json') })!;
    const rt = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('carol').setExpirationTime('5m').sign(rsa.privateKey);
    expect((await rs(rt)).actor.id).to.equal('carol');
  });

  it('refuses algorithm confusion: HS256 signed with the configured public key (PEM or JWK), an oct key in the JWKS, an unknown kid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omcp-jwt-'));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    writeFileSync(join(dir, 'rsa.pem'), pem);
    const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1' };
    const oct = { kty: 'oct', k: Buffer.from('shared-secret-in-the-jwks-file-0123456789').toString('base64url'), kid: 'k2' };
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk, oct] }));
    const byPem = createJwtVerifier({ JWT_PUBLIC_KEY_FILE: join(dir, 'rsa.pem') })!;
    const byJwks = createJwtVerifier({ JWT_JWKS_FILE: join(dir, 'jwks.json') })!;
    const hsWith = (secret: Uint8Array, kid?: string) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256', ...(kid ? { kid } : {}) }).setSubject('mallory').setExpirationTime('5m').sign(secret);
    const tokens = [
      [byPem, await hsWith(Buffer.from(pem))],
      [byPem, await hsWith(rsa.publicKey.export({ type: 'pkcs1', format: 'der' }))],
      [byJwks, await hsWith(Buffer.from(JSON.stringify(jwk)), 'k1')],
      [byJwks, await hsWith(Buffer.from('shared-secret-in-the-jwks-file-0123456789'), 'k2')],
      [byJwks, await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'nope' }).setSubject('m').setExpirationTime('5m').sign(rsa.privateKey)],
    ] as const;
    for (const [verify, token] of tokens) expect(await verify(token).then(() => 'accepted', (e) => e.code)).to.equal('UNAUTHENTICATED');
  });

  it('no settings → no verifier; two sources or a missing file → ConfigError naming the variable', () => {
    expect(createJwtVerifier({})).to.equal(undefined);
    expect(() => createJwtVerifier({ JWT_SECRET: SECRET, JWT_JWKS_FILE: '/x' })).to.throw(ConfigError);
    expect(() => createJwtVerifier({ JWT_PUBLIC_KEY_FILE: '/nonexistent.pem' })).to.throw(/JWT_PUBLIC_KEY_FILE/);
    // ES256 needs P-256: a P-384 key used to start and then refuse every token.
    const dir = mkdtempSync(join(tmpdir(), 'omcp-jwt-'));
    writeFileSync(join(dir, 'p384.pem'), generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }));
    expect(() => createJwtVerifier({ JWT_PUBLIC_KEY_FILE: join(dir, 'p384.pem') })).to.throw(ConfigError, /RSA or EC P-256/);
  });
});
