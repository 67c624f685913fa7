import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator } from '../../src/auth/authenticator';
import { ensureAdminKey, storeAdminKeyIfAbsent } from '../../src/auth/ensure-admin-key';
import { MemoryKeyStore } from '../../src/auth/memory-key-store';

describe('ensureAdminKey (bootstrap admin)', () => {
  it('generates a key into DATA_DIR/admin.key (0600) once, then reuses it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'omcp-admin-'));
    const keys = new MemoryKeyStore();
    const first = await ensureAdminKey({ dataDir }, keys);
    expect(first.generated).to.equal(true);
    expect(first.key).to.match(/^omk_/);
    const file = join(dataDir, 'admin.key');
    expect(readFileSync(file, 'utf8').trim()).to.equal(first.key);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    const second = await ensureAdminKey({ dataDir }, keys);
    expect(second).to.deep.equal({ key: first.key, generated: false });
    const p = await createAuthenticator({ keys }).authenticate(`Bearer ${first.key}`);
    expect(p).to.include({ role: 'admin', tenant: 'default', crossTenant: true });
    const stored = (await keys.list({ tenant: null, limit: 10 }))[0];
    expect(JSON.stringify(stored)).not.to.include(first.key);
  });

  it('OPENMCP_ADMIN_KEY wins, and changing it rotates the stored key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'omcp-admin-'));
    const keys = new MemoryKeyStore();
    const auth = createAuthenticator({ keys, cacheTtlMs: 0 });
    expect(await ensureAdminKey({ dataDir, OPENMCP_ADMIN_KEY: 'first-admin-key-000000' }, keys)).to.deep.equal({ key: 'first-admin-key-000000', generated: false });
    await auth.authenticate('Bearer first-admin-key-000000');
    await ensureAdminKey({ dataDir, OPENMCP_ADMIN_KEY: 'second-admin-key-00000' }, keys);
    await auth.authenticate('Bearer second-admin-key-00000');
    let code = '';
    await auth.authenticate('Bearer first-admin-key-000000').catch((e) => (code = e.code));
    expect(code).to.equal('UNAUTHENTICATED');
    expect((await keys.list({ tenant: null, limit: 10 }))[0].prefix).to.equal('seco');
  });

  it('OPENMCP_ADMIN_KEY replacing a generated DATA_DIR/admin.key removes that file, so a later start without the variable cannot put the old key back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'omcp-admin-'));
    const keys = new MemoryKeyStore();
    const auth = createAuthenticator({ keys, cacheTtlMs: 0 });
    const first = await ensureAdminKey({ dataDir }, keys);
    expect(first.generated).to.equal(true);
    const rotated = await ensureAdminKey({ dataDir, OPENMCP_ADMIN_KEY: 'rotated-admin-key-Hq7Wz2Lp9Xc4' }, keys);
    expect(rotated).to.deep.equal({ key: 'rotated-admin-key-Hq7Wz2Lp9Xc4', generated: false, removedStaleFile: join(dataDir, 'admin.key') });
    expect(existsSync(join(dataDir, 'admin.key'))).to.equal(false);
    // A start without the variable: a new key (printed once), never the old one back.
    const later = await ensureAdminKey({ dataDir }, keys);
    expect(later.generated).to.equal(true);
    expect(later.key).to.not.equal(first.key);
    let code = '';
    await auth.authenticate(`Bearer ${first.key}`).catch((e) => (code = e.code));
    expect(code).to.equal('UNAUTHENTICATED');
  });

  it('a DATA_DIR/admin.key holding the same key as OPENMCP_ADMIN_KEY is left alone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'omcp-admin-'));
    const keys = new MemoryKeyStore();
    const { key } = await ensureAdminKey({ dataDir }, keys);
    expect(await ensureAdminKey({ dataDir, OPENMCP_ADMIN_KEY: key }, keys)).to.deep.equal({ key, generated: false });
    expect(existsSync(join(dataDir, 'admin.key'))).to.equal(true);
  });

  it('storeAdminKeyIfAbsent (mcp stdio): stores OPENMCP_ADMIN_KEY or an existing admin.key into an empty store only, and never writes a file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'omcp-admin-'));
    const keys = new MemoryKeyStore();
    const auth = createAuthenticator({ keys, cacheTtlMs: 0 });
    expect(await storeAdminKeyIfAbsent({ dataDir }, keys)).to.equal(false);
    expect(existsSync(join(dataDir, 'admin.key'))).to.equal(false);
    expect(await keys.list({ tenant: null, limit: 10 })).to.deep.equal([]);
    expect(await storeAdminKeyIfAbsent({ dataDir, OPENMCP_ADMIN_KEY: 'first-admin-key-000000' }, keys)).to.equal(true);
    await auth.authenticate('Bearer first-admin-key-000000');
    // Another environment's key does not replace the stored one.
    expect(await storeAdminKeyIfAbsent({ dataDir, OPENMCP_ADMIN_KEY: 'second-admin-key-00000' }, keys)).to.equal(false);
    await auth.authenticate('Bearer first-admin-key-000000');
    const fresh = new MemoryKeyStore();
    const { key } = await ensureAdminKey({ dataDir }, new MemoryKeyStore());
    expect(await storeAdminKeyIfAbsent({ dataDir }, fresh)).to.equal(true);
    expect(await createAuthenticator({ keys: fresh }).authenticate(`Bearer ${key}`)).to.include({ role: 'admin', crossTenant: true });
  });
});
