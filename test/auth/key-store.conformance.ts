import { expect } from 'chai';
import { generateApiKey } from '../../src/auth/api-key';
import { randomBytes } from 'node:crypto';
import { IdempotencyKeyTakenError, type ApiKeyRecord, type KeyStore } from '../../src/auth/key-store';
import type { Hex } from '../../src/core/hex';
import { newId } from '../../src/core/ids';

export type KeyStoreFixture = { keys: KeyStore; close(): Promise<void> };

function record(over: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const g = generateApiKey();
  return { id: newId(), tenant: 'acme', role: 'agent', crossTenant: false, prefix: g.prefix, hash: g.hash, createdAt: '2026-12-06T10:00:00.000Z', createdBy: 'test', ...over };
}

/** What every adapter of the KeyStore port must do (SQL on SQLite and MariaDB, in-memory). */
export function describeKeyStore(name: string, open: (ctx: Mocha.Context) => Promise<KeyStoreFixture>): void {
  describe(`KeyStore port conformance: ${name}`, function () {
    let f: KeyStoreFixture;
    before(async function () {
      f = await open(this);
    });
    after(() => f?.close());

    it('round-trips every field; optional ones absent when not set', async () => {
      const full = record({ name: 'ci', crossTenant: true, role: 'admin', agents: ['billing-bot', 'ops.bot:2'] });
      const bare = record();
      await f.keys.insert(full);
      await f.keys.insert(bare);
      expect(await f.keys.get(full.id)).to.deep.equal(full);
      expect(await f.keys.findByHash(full.hash)).to.deep.equal(full);
      expect(await f.keys.get(bare.id)).to.deep.equal(bare);
      expect(await f.keys.get(bare.id)).not.to.have.property('agents');
      const listed = await f.keys.list({ tenant: 'acme', limit: 100 });
      expect(listed.find((r) => r.id === full.id)).to.deep.equal(full);
      expect(listed.find((r) => r.id === bare.id)).to.deep.equal(bare);
    });

    it('keeps the agents list in order, at its limits (100 ids of 200 characters)', async () => {
      const agents = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(197)}`).reverse();
      const r = record({ agents });
      await f.keys.insert(r);
      expect((await f.keys.get(r.id))!.agents).to.deep.equal(agents);
    });

    it('put replaces a record, its agents list too (set and cleared)', async () => {
      const r = record({ agents: ['a'] });
      await f.keys.put(r);
      await f.keys.put({ ...r, agents: ['b', 'c'] });
      expect((await f.keys.get(r.id))!.agents).to.deep.equal(['b', 'c']);
      const { agents: _agents, ...cleared } = r;
      await f.keys.put(cleared);
      expect(await f.keys.get(r.id)).to.deep.equal(cleared);
    });

    it('setAgents changes the list (set and cleared) as of a stream revision: an older or equal revision applied late changes nothing', async () => {
      const r = record({ agents: ['a'] });
      await f.keys.insert(r);
      expect(await f.keys.setAgents(r.id, ['b', 'c'], 1)).to.equal(true);
      expect(await f.keys.get(r.id)).to.deep.equal({ ...r, agents: ['b', 'c'] });
      expect(await f.keys.findByHash(r.hash)).to.deep.equal({ ...r, agents: ['b', 'c'] });
      expect(await f.keys.setAgents(r.id, undefined, 3)).to.equal(true);
      const { agents: _agents, ...cleared } = r;
      expect(await f.keys.get(r.id)).to.deep.equal(cleared);
      // Revision 2's change arriving after revision 3's: the key keeps revision 3's (no list).
      expect(await f.keys.setAgents(r.id, ['late'], 2)).to.equal(false);
      expect(await f.keys.setAgents(r.id, ['same'], 3)).to.equal(false);
      expect(await f.keys.get(r.id)).to.deep.equal(cleared);
      expect(await f.keys.setAgents(r.id, ['d'], 4)).to.equal(true);
      expect((await f.keys.get(r.id))!.agents).to.deep.equal(['d']);
      expect(await f.keys.setAgents('01900000-0000-7000-8000-0000000000ff', ['x'], 1)).to.equal(false);
      // A record never changed takes revision 0 (the key's ApiKeyCreated) as well.
      const fresh = record();
      await f.keys.insert(fresh);
      expect(await f.keys.setAgents(fresh.id, undefined, 0)).to.equal(true);
      expect(await f.keys.setAgents(fresh.id, ['x'], 0)).to.equal(false);
      expect(await f.keys.get(fresh.id)).to.deep.equal(fresh);
    });

    it('narrowAgents keeps only the agents in both lists (all given for a key without a limit), and leaves the revision setAgents compares', async () => {
      const r = record({ agents: ['a', 'b', 'c'] });
      await f.keys.insert(r);
      expect(await f.keys.setAgents(r.id, ['a', 'b', 'c'], 2)).to.equal(true);
      expect(await f.keys.narrowAgents(r.id, ['b', 'c', 'd'])).to.equal(true);
      expect((await f.keys.get(r.id))!.agents).to.deep.equal(['b', 'c']);
      expect(await f.keys.narrowAgents(r.id, ['x'])).to.equal(true);
      expect((await f.keys.findByHash(r.hash))!.agents).to.deep.equal([]);
      // The change it stood in for, written at the next revision, still lands.
      expect(await f.keys.setAgents(r.id, ['x'], 3)).to.equal(true);
      expect((await f.keys.get(r.id))!.agents).to.deep.equal(['x']);
      const open = record();
      await f.keys.insert(open);
      expect(await f.keys.narrowAgents(open.id, ['p', 'q'])).to.equal(true);
      expect((await f.keys.get(open.id))!.agents).to.deep.equal(['p', 'q']);
      expect(await f.keys.setAgents(open.id, undefined, 0)).to.equal(true);
      expect(await f.keys.narrowAgents('01900000-0000-7000-8000-0000000000fe', ['p'])).to.equal(false);
    });

    it('revokes once; lists by tenant in id order after a cursor', async () => {
      const r = record({ tenant: 'beta', agents: ['x'] });
      await f.keys.insert(r);
      expect(await f.keys.revoke(r.id, '2026-12-06T11:00:00.000Z')).to.equal(true);
      expect(await f.keys.revoke(r.id, '2026-12-06T12:00:00.000Z')).to.equal(false);
      expect(await f.keys.get(r.id)).to.deep.equal({ ...r, revokedAt: '2026-12-06T11:00:00.000Z' });
      const second = record({ tenant: 'beta' });
      await f.keys.insert(second);
      expect((await f.keys.list({ tenant: 'beta', limit: 10 })).map((x) => x.id)).to.deep.equal([r.id, second.id]);
      expect((await f.keys.list({ tenant: 'beta', limit: 10, afterId: r.id })).map((x) => x.id)).to.deep.equal([second.id]);
      await f.keys.remove(second.id);
      expect(await f.keys.get(second.id)).to.equal(undefined);
    });

    it('insertUnderLimit inserts while the tenant has fewer active keys than the limit; at it, inserts nothing and says how many it has; revoked keys, other tenants and the id excepted do not count', async () => {
      const tenant = `lim-${newId()}`;
      const uncounted = record({ tenant });
      await f.keys.put(uncounted);
      const a = record({ tenant });
      const b = record({ tenant });
      expect(await f.keys.insertUnderLimit(a, { limit: 2, except: uncounted.id })).to.deep.equal({ inserted: true, active: 0, issuing: 0 });
      expect(await f.keys.insertUnderLimit(b, { limit: 2, except: uncounted.id })).to.deep.equal({ inserted: true, active: 1, issuing: 0 });
      await f.keys.insert(record({ tenant: `${tenant}-other` }));
      const c = record({ tenant });
      expect(await f.keys.insertUnderLimit(c, { limit: 2, except: uncounted.id })).to.deep.equal({ inserted: false, active: 2, issuing: 0 });
      expect(await f.keys.get(c.id), 'nothing inserted').to.equal(undefined);
      expect(await f.keys.insertUnderLimit(c, { limit: 2 }), 'the id excepted counts when not excepted').to.deep.equal({ inserted: false, active: 3, issuing: 0 });
      await f.keys.revoke(a.id, '2026-12-06T11:00:00.000Z');
      expect(await f.keys.insertUnderLimit(c, { limit: 2, except: uncounted.id })).to.deep.equal({ inserted: true, active: 1, issuing: 0 });
      expect(await f.keys.get(c.id)).to.deep.equal(c);
    });

    it('a key inserted as being issued counts against the limit but is neither found nor listed nor revocable until issued; issue hands it out once', async () => {
      const tenant = `iss-${newId()}`;
      const r = record({ tenant, agents: ['a'] });
      expect(await f.keys.insertUnderLimit(r, { limit: 1, issuing: true })).to.deep.equal({ inserted: true, active: 0, issuing: 0 });
      expect(await f.keys.findByHash(r.hash), 'never authenticates').to.equal(undefined);
      expect(await f.keys.get(r.id)).to.equal(undefined);
      expect(await f.keys.list({ tenant, limit: 10 })).to.deep.equal([]);
      expect(await f.keys.revoke(r.id, '2026-12-06T11:00:00.000Z')).to.equal(false);
      expect(await f.keys.insertUnderLimit(record({ tenant }), { limit: 1 }), 'it holds its place').to.deep.equal({ inserted: false, active: 1, issuing: 1 });
      expect(await f.keys.issue(r.id)).to.equal(true);
      expect(await f.keys.issue(r.id), 'once').to.equal(false);
      expect(await f.keys.abandon(r.id, '2026-12-06T11:00:00.000Z'), 'an issued key is not let go').to.equal(false);
      expect(await f.keys.findByHash(r.hash)).to.deep.equal(r);
      expect((await f.keys.list({ tenant, limit: 10 })).map((k) => k.id)).to.deep.equal([r.id]);
      expect(await f.keys.insertUnderLimit(record({ tenant }), { limit: 1 })).to.deep.equal({ inserted: false, active: 1, issuing: 0 });
      const plain = record({ tenant });
      await f.keys.insert(plain, { issuing: true });
      expect(await f.keys.get(plain.id)).to.equal(undefined);
      expect(await f.keys.issue(plain.id)).to.equal(true);
      expect(await f.keys.get(plain.id)).to.deep.equal(plain);
      expect(await f.keys.issue('01900000-0000-7000-8000-0000000000fd')).to.equal(false);
    });

    it('abandon lets a key being issued go (its place freed, issue refused, still unfound); unissued lists such keys oldest first; keepRevoked lists one as revoked, remove drops one', async () => {
      const tenant = `ab-${newId()}`;
      const old = record({ tenant, createdAt: '2026-12-06T09:00:00.000Z' });
      const older = record({ tenant, createdAt: '2026-12-06T08:00:00.000Z' });
      const recent = record({ tenant, createdAt: '2026-12-06T10:30:00.000Z' });
      for (const r of [old, older, recent]) await f.keys.insert(r, { issuing: true });
      const mine = (rs: ApiKeyRecord[]) => rs.filter((r) => r.tenant === tenant);
      expect(mine(await f.keys.unissued({ createdBefore: '2026-12-06T10:00:00.000Z', limit: 1000 }))).to.deep.equal([older, old]);
      expect(await f.keys.abandon(old.id, '2026-12-06T10:05:00.000Z')).to.equal(true);
      expect(await f.keys.abandon(old.id, '2026-12-06T10:06:00.000Z'), 'once').to.equal(false);
      expect(await f.keys.issue(old.id), 'a key let go is never handed out').to.equal(false);
      expect(await f.keys.findByHash(old.hash)).to.equal(undefined);
      expect(await f.keys.insertUnderLimit(record({ tenant }), { limit: 3 }), 'no longer counted').to.deep.equal({ inserted: true, active: 2, issuing: 2 });
      expect(mine(await f.keys.unissued({ createdBefore: '2026-12-06T10:00:00.000Z', limit: 1000 }))).to.deep.equal([older, { ...old, revokedAt: '2026-12-06T10:05:00.000Z' }]);
      expect(await f.keys.keepRevoked(older.id), 'only a key let go').to.equal(false);
      expect(await f.keys.keepRevoked(old.id)).to.equal(true);
      expect(await f.keys.keepRevoked(old.id)).to.equal(false);
      expect(await f.keys.get(old.id)).to.deep.equal({ ...old, revokedAt: '2026-12-06T10:05:00.000Z' });
      expect(await f.keys.findByHash(old.hash)).to.have.property('revokedAt');
      expect(mine(await f.keys.unissued({ createdBefore: '2026-12-06T11:00:00.000Z', limit: 1000 }))).to.deep.equal([older, recent]);
      await f.keys.abandon(recent.id, '2026-12-06T10:40:00.000Z');
      await f.keys.remove(recent.id);
      expect(mine(await f.keys.unissued({ createdBefore: '2026-12-06T11:00:00.000Z', limit: 1000 }))).to.deep.equal([older]);
    });

    it('insertUnderLimit holds the limit when keys are inserted at once (the count and the insert are one step)', async () => {
      const tenant = `race-${newId()}`;
      const results = await Promise.all(Array.from({ length: 8 }, () => f.keys.insertUnderLimit(record({ tenant }), { limit: 3 })));
      expect(results.filter((r) => r.inserted)).to.have.length(3);
      expect(await f.keys.list({ tenant, limit: 100 })).to.have.length(3);
    });

    const digest = () => `0x${randomBytes(32).toString('hex')}` as Hex;
    const taken = (p: Promise<unknown>) => p.then(() => 'inserted', (e: unknown) => (e instanceof IdempotencyKeyTakenError ? 'taken' : Promise.reject(e)));

    it('an idempotency key is held by one key: found with its request digest while being issued and once handed out (revoked too); a second insert with it, limited or not, inserts nothing; the record itself does not show it', async () => {
      const tenant = `idem-${newId()}`;
      const idempotency = { key: digest(), request: digest() };
      const first = record({ tenant });
      await f.keys.insertUnderLimit(first, { limit: 5, issuing: true, idempotency });
      expect(await f.keys.findByIdempotencyKey(idempotency.key)).to.deep.equal({ record: first, request: idempotency.request, issued: false });
      expect(await taken(f.keys.insert(record({ tenant }), { issuing: true, idempotency: { key: idempotency.key, request: digest() } }))).to.equal('taken');
      expect(await taken(f.keys.insertUnderLimit(record({ tenant }), { limit: 5, issuing: true, idempotency }))).to.equal('taken');
      expect(await f.keys.issue(first.id)).to.equal(true);
      expect(await f.keys.findByIdempotencyKey(idempotency.key)).to.deep.equal({ record: first, request: idempotency.request, issued: true });
      expect(await f.keys.get(first.id), 'the record as it was given').to.deep.equal(first);
      expect(await f.keys.list({ tenant, limit: 10 })).to.deep.equal([first]);
      await f.keys.revoke(first.id, '2026-12-06T11:00:00.000Z');
      expect((await f.keys.findByIdempotencyKey(idempotency.key))?.record).to.deep.equal({ ...first, revokedAt: '2026-12-06T11:00:00.000Z' });
      expect(await taken(f.keys.insert(record({ tenant }), { idempotency }))).to.equal('taken');
      expect(await f.keys.list({ tenant, limit: 10 }), 'nothing inserted').to.have.length(1);
      expect(await f.keys.findByIdempotencyKey(digest())).to.equal(undefined);
    });

    it('a key let go unissued gives its idempotency key up: not found, and the next insert with it goes in', async () => {
      const tenant = `idem-${newId()}`;
      const idempotency = { key: digest(), request: digest() };
      const lost = record({ tenant });
      await f.keys.insert(lost, { issuing: true, idempotency });
      expect(await f.keys.abandon(lost.id, '2026-12-06T10:05:00.000Z')).to.equal(true);
      expect(await f.keys.findByIdempotencyKey(idempotency.key)).to.equal(undefined);
      const retry = record({ tenant });
      await f.keys.insertUnderLimit(retry, { limit: 5, issuing: true, idempotency });
      expect((await f.keys.findByIdempotencyKey(idempotency.key))?.record).to.deep.equal(retry);
      expect(await f.keys.keepRevoked(lost.id), 'the key let go settles as before').to.equal(true);
      expect((await f.keys.findByIdempotencyKey(idempotency.key))?.record.id).to.equal(retry.id);
    });

    it('keys inserted at once with one idempotency key: one goes in, the others are told it is taken', async () => {
      const tenant = `idem-race-${newId()}`;
      const idempotency = { key: digest(), request: digest() };
      const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => taken(i % 2 ? f.keys.insert(record({ tenant }), { issuing: true, idempotency }) : f.keys.insertUnderLimit(record({ tenant }), { limit: 10, issuing: true, idempotency }))));
      expect(outcomes.filter((o) => o === 'inserted')).to.have.length(1);
      expect(await f.keys.unissued({ createdBefore: '2026-12-07T00:00:00.000Z', limit: 1000 }).then((rs) => rs.filter((r) => r.tenant === tenant))).to.have.length(1);
    });
  });
}
