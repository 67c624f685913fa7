import { expect } from 'chai';
import { generateApiKey, hashApiKey } from '../../src/auth/api-key';
import { isCredentialRevoked } from '../../src/auth/credential-revoked';
import { ensureAdminKey } from '../../src/auth/ensure-admin-key';
import { BOOTSTRAP_KEY_ID } from '../../src/auth/key-service';
import { MemoryKeyStore } from '../../src/auth/memory-key-store';

describe('isCredentialRevoked (the /mcp sessions check)', () => {
  it('a key revoked, removed, or replaced under its id (the bootstrap admin key rotated) is revoked; the key in place is not', async () => {
    const keys = new MemoryKeyStore();
    const g = generateApiKey();
    const id = '01900000-0000-7000-8000-000000000001';
    await keys.insert({ id, tenant: 'acme', role: 'agent', crossTenant: false, prefix: g.prefix, hash: g.hash, createdAt: '', createdBy: 't' });
    const key = { actor: { id }, credential: g.hash };
    expect(await isCredentialRevoked(keys, key)).to.equal(false);
    expect(await isCredentialRevoked(keys, { actor: { id: 'another-key' }, credential: g.hash }), 'a hash is no good for another id').to.equal(true);
    expect(await isCredentialRevoked(keys, { actor: { id }, credential: 'not a hash' })).to.equal(true);
    await keys.revoke(id, new Date().toISOString());
    expect(await isCredentialRevoked(keys, key)).to.equal(true);
    expect(await isCredentialRevoked(keys, { actor: { id } }), 'without a credential: by the id').to.equal(true);
    await keys.remove(id);
    expect(await isCredentialRevoked(keys, key)).to.equal(true);

    const dataDir = '/nonexistent';
    await ensureAdminKey({ OPENMCP_ADMIN_KEY: 'first-bootstrap-admin-key-7Kq2vX9pLm4R', dataDir }, keys);
    const first = { actor: { id: BOOTSTRAP_KEY_ID }, credential: hashApiKey('first-bootstrap-admin-key-7Kq2vX9pLm4R') };
    expect(await isCredentialRevoked(keys, first)).to.equal(false);
    await ensureAdminKey({ OPENMCP_ADMIN_KEY: 'second-bootstrap-admin-key-Zt8wN3cY6hJd', dataDir }, keys);
    expect(await isCredentialRevoked(keys, first), 'the old value').to.equal(true);
    expect(await isCredentialRevoked(keys, { actor: { id: BOOTSTRAP_KEY_ID }, credential: hashApiKey('second-bootstrap-admin-key-Zt8wN3cY6hJd') })).to.equal(false);
  });

  it('a principal without a key (a JWT subject) is never revoked here: it expires instead', async () => {
    expect(await isCredentialRevoked(new MemoryKeyStore(), { actor: { id: 'jwt-subject' } })).to.equal(false);
  });
});
