import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { catalog } from '../../events';
import { migrateLatest } from '../../migrations';
import type { ApiKeyRecord, KeyStore } from '../../src/auth/key-store';
import { createApiKey, type KeyServiceDependencies } from '../../src/auth/key-service';
import type { Principal } from '../../src/auth/principal';
import { settleUnissuedKeys, UNISSUED_KEY_HOLD_MS, type SettleUnissuedKeysReturnType } from '../../src/auth/settle-unissued-keys';
import { startUnissuedKeySweep } from '../../src/auth/unissued-key-sweep';
import { SqlKeyStore } from '../../src/auth/sql-key-store';
import { UnavailableError } from '../../src/core/errors';
import { openKnex } from '../../src/db/knex';
import type { EventStore } from '../../src/eventstore/port';
import { sqlEventStoreOn, type SqlEventStore } from '../../src/eventstore/sql';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

type Fixture = { knex: Knex; store: SqlEventStore; keys: SqlKeyStore; close(): Promise<void> };

const admin: Principal = { tenant: 'acme', role: 'admin', actor: { kind: 'user', id: 'admin-1' }, crossTenant: false, via: 'api-key', subject: 'k-admin' };
const outage = () => new UnavailableError('event store (test)', 'append: ECONNRESET');
const lostDatabase = (op: string) => new UnavailableError('api keys (test)', `${op}: ECONNRESET`);

/** A promise with its resolve, to hold an append where a killed process left it. */
function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** `target` with some methods replaced (the rest pass through, `this` kept). */
function replacing<T extends object>(target: T, over: Partial<Record<keyof T, (...args: any[]) => unknown>>): T {
  return new Proxy(target, { get: (t, p) => (p in over ? over[p as keyof T] : Reflect.get(t, p)) }) as T;
}

/** The key store, telling each record createApiKey inserts (the key itself is never returned when the request fails). */
function recording(keys: KeyStore): { keys: KeyStore; inserted: ApiKeyRecord[] } {
  const inserted: ApiKeyRecord[] = [];
  const insertUnderLimit: KeyStore['insertUnderLimit'] = (r, p) => (inserted.push(r), keys.insertUnderLimit(r, p));
  return { keys: replacing(keys, { insertUnderLimit }), inserted };
}

function describeKeyIssue(name: string, open: (ctx: Mocha.Context) => Promise<Fixture>): void {
  describe(`createApiKey: a key is handed out only once ApiKeyCreated is recorded, and one never handed out is let go (${name})`, function () {
    this.timeout(30_000);
    let f: Fixture;
    let now: number;
    let tenantNo = 0;
    let tenant: string;
    before(async function () {
      f = await open(this);
    });
    after(() => f?.close());
    beforeEach(() => {
      now = Date.parse('2026-12-06T10:00:00.000Z');
      tenant = `t${++tenantNo}-${Date.now().toString(36)}`;
    });
    const clock = () => new Date(now);
    const deps = (over: Partial<KeyServiceDependencies> = {}): KeyServiceDependencies => ({ store: f.store, catalog, keys: f.keys, clock, maxKeysPerTenant: 1, ...over });
    const by = (): Principal => ({ ...admin, tenant });
    const create = (d: KeyServiceDependencies) => createApiKey(d, by(), { role: 'viewer', tenant });
    const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error & { code?: string });
    const streamOf = async (id: string) => (await f.store.readStream(`apikey-${id}`)).map((e) => [e.type, e.actor.kind]);

    it('a process killed between the row and ApiKeyCreated: the key never authenticates, holds its place only for the hold, then is let go with nothing recorded', async () => {
      const appending = deferred();
      const killed = replacing<EventStore>(f.store, { append: () => (appending.resolve(), new Promise(() => {})) });
      const seen = recording(f.keys);
      void create(deps({ store: killed, keys: seen.keys }));
      await appending.promise;
      const [orphan] = seen.inserted;
      expect(await f.keys.findByHash(orphan.hash), 'never handed out: never authenticates').to.equal(undefined);
      expect(await f.keys.get(orphan.id)).to.equal(undefined);
      expect((await f.keys.list({ tenant, limit: 10 })).map((k) => k.id)).to.deep.equal([]);
      // Meanwhile its place is held (the count and the insert stay one step); the refusal says why.
      now += 60_000;
      const held = await failure(create(deps()));
      expect(held?.code).to.equal('API_KEY_LIMIT');
      expect(held?.message).to.include('1 of them being issued');
      // The next start (or the sweep every API process runs) after the hold lets it go.
      now += UNISSUED_KEY_HOLD_MS;
      expect(await settleUnissuedKeys(deps())).to.deep.equal({ letGo: [orphan.id], revoked: [] });
      const issued = await create(deps());
      expect(await f.keys.get(issued.record.id)).to.include({ tenant });
      expect(await streamOf(orphan.id), 'nothing recorded for it').to.deep.equal([]);
      // The row itself goes a hold later (an append still in flight would have landed by then).
      now += UNISSUED_KEY_HOLD_MS;
      await settleUnissuedKeys(deps());
      expect(await f.knex('api_keys').where({ id: orphan.id }).first()).to.equal(undefined);
    });

    it('the event store down at the append: the error is answered, the place is free at once, nothing is left', async () => {
      const seen = recording(f.keys);
      const err = await failure(create(deps({ store: replacing<EventStore>(f.store, { append: () => Promise.reject(outage()) }), keys: seen.keys })));
      expect(err).to.be.instanceOf(UnavailableError);
      expect(await f.keys.findByHash(seen.inserted[0].hash)).to.equal(undefined);
      expect((await create(deps())).record.tenant, 'its place is free at once').to.equal(tenant);
      now += 2 * UNISSUED_KEY_HOLD_MS + 1;
      await settleUnissuedKeys(deps());
      await settleUnissuedKeys(deps());
      expect(await f.knex('api_keys').where({ id: seen.inserted[0].id }).first()).to.equal(undefined);
      expect(await streamOf(seen.inserted[0].id)).to.deep.equal([]);
    });

    it('an append written whose answer was lost: the key never authenticates, and the sweep completes its record (ApiKeyRevoked by the system, listed revoked)', async () => {
      const seen = recording(f.keys);
      const lost = replacing<EventStore>(f.store, { append: (...a: Parameters<EventStore['append']>) => f.store.append(...a).then(() => Promise.reject(outage())) });
      expect(await failure(create(deps({ store: lost, keys: seen.keys })))).to.be.instanceOf(UnavailableError);
      const [key] = seen.inserted;
      expect(await f.keys.findByHash(key.hash)).to.equal(undefined);
      expect(await streamOf(key.id)).to.deep.equal([['ApiKeyCreated', 'user']]);
      expect((await create(deps())).record.tenant, 'its place is free at once').to.equal(tenant);
      now += UNISSUED_KEY_HOLD_MS + 1;
      expect(await settleUnissuedKeys(deps())).to.deep.equal({ letGo: [], revoked: [key.id] });
      expect(await streamOf(key.id)).to.deep.equal([['ApiKeyCreated', 'user'], ['ApiKeyRevoked', 'system']]);
      expect(await f.keys.get(key.id), 'the log and GET /v1/keys agree: issued, revoked').to.have.property('revokedAt');
      expect(await f.keys.findByHash(key.hash)).to.have.property('revokedAt');
      expect(await settleUnissuedKeys(deps()), 'settled once').to.deep.equal({ letGo: [], revoked: [] });
    });

    it('the database lost after ApiKeyCreated (the key not yet issued): the error is answered, the key never authenticates, and the sweep records its revocation', async () => {
      const seen = recording(f.keys);
      const lostDb = replacing(seen.keys, { issue: () => Promise.reject(lostDatabase('issue')), abandon: () => Promise.reject(lostDatabase('abandon')) });
      expect(await failure(create(deps({ keys: lostDb })))).to.be.instanceOf(UnavailableError);
      const [key] = seen.inserted;
      expect(await f.keys.findByHash(key.hash)).to.equal(undefined);
      expect((await failure(create(deps())))?.code, 'held until settled').to.equal('API_KEY_LIMIT');
      now += UNISSUED_KEY_HOLD_MS + 1;
      expect(await settleUnissuedKeys(deps())).to.deep.equal({ letGo: [], revoked: [key.id] });
      expect(await streamOf(key.id)).to.deep.equal([['ApiKeyCreated', 'user'], ['ApiKeyRevoked', 'system']]);
      expect((await create(deps())).record.tenant).to.equal(tenant);
    });

    it('a request still recording after the hold (its key let go meanwhile) answers an error, hands nothing out, and ends its record revoked', async () => {
      const appending = deferred();
      const release = deferred();
      const slow = replacing<EventStore>(f.store, { append: async (...a: Parameters<EventStore['append']>) => (appending.resolve(), await release.promise, f.store.append(...a)) });
      const seen = recording(f.keys);
      const pending = failure(create(deps({ store: slow, keys: seen.keys })));
      await appending.promise;
      now += UNISSUED_KEY_HOLD_MS + 1;
      expect(await settleUnissuedKeys(deps())).to.deep.equal({ letGo: [seen.inserted[0].id], revoked: [] });
      release.resolve();
      const err = await pending;
      expect(err?.code).to.equal('DEPENDENCY_UNAVAILABLE');
      expect(err?.message).to.include('not issued');
      const [key] = seen.inserted;
      expect(await f.keys.findByHash(key.hash)).to.equal(undefined);
      expect(await streamOf(key.id)).to.deep.equal([['ApiKeyCreated', 'user'], ['ApiKeyRevoked', 'system']]);
      now += UNISSUED_KEY_HOLD_MS + 1;
      expect(await settleUnissuedKeys(deps())).to.deep.equal({ letGo: [], revoked: [key.id] });
      expect(await streamOf(key.id), 'recorded once').to.have.length(2);
      expect(await f.keys.get(key.id)).to.have.property('revokedAt');
    });

    const createIdem = (d: KeyServiceDependencies, idempotencyKey: string) => createApiKey(d, by(), { role: 'viewer', tenant, idempotencyKey });

    it('with an Idempotency-Key, a first request that failed (the event store down) issued nothing: its retry issues the key, and a retry of that names it', async () => {
      const err = await failure(createIdem(deps({ store: replacing<EventStore>(f.store, { append: () => Promise.reject(outage()) }) }), 'retry-me'));
      expect(err).to.be.instanceOf(UnavailableError);
      const issued = await createIdem(deps(), 'retry-me');
      expect(issued.key).to.match(/^omk_/);
      const again = await failure(createIdem(deps(), 'retry-me'));
      expect(again?.code).to.equal('API_KEY_ALREADY_ISSUED');
      expect(again?.message).to.include(issued.record.id).and.not.to.include(issued.key);
    });

    it('with an Idempotency-Key, a process killed midway: a retry is told to ask again (409 IDEMPOTENCY_KEY_IN_USE) until the sweep lets that key go, then issues one', async () => {
      const appending = deferred();
      const killed = replacing<EventStore>(f.store, { append: () => (appending.resolve(), new Promise(() => {})) });
      void createIdem(deps({ store: killed }), 'killed-midway');
      await appending.promise;
      const busy = await failure(createIdem(deps(), 'killed-midway'));
      expect(busy?.code).to.equal('IDEMPOTENCY_KEY_IN_USE');
      now += UNISSUED_KEY_HOLD_MS + 1;
      await settleUnissuedKeys(deps());
      expect((await createIdem(deps(), 'killed-midway')).key).to.match(/^omk_/);
    });

    it('an API process sweeps as it starts (then every minute), and stops once its run is done', async () => {
      const appending = deferred();
      const seen = recording(f.keys);
      void create(deps({ store: replacing<EventStore>(f.store, { append: () => (appending.resolve(), new Promise(() => {})) }), keys: seen.keys }));
      await appending.promise;
      now += UNISSUED_KEY_HOLD_MS + 1;
      const settled = deferred<SettleUnissuedKeysReturnType>();
      const sweep = startUnissuedKeySweep(deps(), { intervalMs: 3_600_000, onSettled: settled.resolve, onError: (err) => settled.resolve({ letGo: [String(err)], revoked: [] }) });
      try {
        expect(await settled.promise).to.deep.equal({ letGo: [seen.inserted[0].id], revoked: [] });
      } finally {
        await sweep.stop();
      }
      expect((await create(deps())).record.tenant).to.equal(tenant);
    });

    it('API processes sweeping at once settle each key once', async () => {
      const seen = recording(f.keys);
      const lostDb = replacing(seen.keys, { issue: () => Promise.reject(lostDatabase('issue')), abandon: () => Promise.reject(lostDatabase('abandon')) });
      for (let i = 0; i < 3; i++) await failure(create(deps({ keys: lostDb, maxKeysPerTenant: 10 })));
      now += UNISSUED_KEY_HOLD_MS + 1;
      const runs = await Promise.all([0, 1, 2].map(() => settleUnissuedKeys(deps())));
      expect(runs.flatMap((r) => r.revoked).sort()).to.deep.equal(seen.inserted.map((k) => k.id).sort());
      for (const k of seen.inserted) expect(await streamOf(k.id)).to.deep.equal([['ApiKeyCreated', 'user'], ['ApiKeyRevoked', 'system']]);
    });

    it('a key that cannot be settled now does not hold up the others: the run names it, and the next settles it', async () => {
      const seen = recording(f.keys);
      const lostDb = replacing(seen.keys, { issue: () => Promise.reject(lostDatabase('issue')), abandon: () => Promise.reject(lostDatabase('abandon')) });
      for (let i = 0; i < 2; i++) await failure(create(deps({ keys: lostDb, maxKeysPerTenant: 10 })));
      const [stuck, other] = seen.inserted;
      now += UNISSUED_KEY_HOLD_MS + 1;
      const unreadable = replacing<EventStore>(f.store, { readStream: (stream: string) => (stream === `apikey-${stuck.id}` ? Promise.reject(outage()) : f.store.readStream(stream)) });
      const err = await failure(settleUnissuedKeys(deps({ store: unreadable })));
      expect(err).to.be.instanceOf(AggregateError);
      expect(err?.message).to.include(`failed for ${stuck.id}: event store (test): append: ECONNRESET`).and.include(`revoked ${other.id}`);
      expect(await streamOf(other.id)).to.deep.equal([['ApiKeyCreated', 'user'], ['ApiKeyRevoked', 'system']]);
      expect(await settleUnissuedKeys(deps())).to.deep.equal({ letGo: [], revoked: [stuck.id] });
      expect(await streamOf(stuck.id)).to.deep.equal([['ApiKeyCreated', 'user'], ['ApiKeyRevoked', 'system']]);
    });
  });
}

describeKeyIssue('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'omc-key-issue-'));
  const knex = await openKnex(`sqlite:${join(dir, 'keys.db')}`);
  await migrateLatest(knex);
  const store = sqlEventStoreOn(knex, { pollIntervalMs: 10 });
  return { knex, store, keys: new SqlKeyStore(knex), close: async () => (await store.close(), await knex.destroy(), rmSync(dir, { recursive: true, force: true })) };
});

describeKeyIssue('MariaDB', async (ctx) => {
  await requireService(ctx, 'MariaDB', mysqlAvailable);
  const db = await createTestDatabase('omc_key_issue');
  const knex = await openKnex(db.url);
  await migrateLatest(knex);
  const store = sqlEventStoreOn(knex, { pollIntervalMs: 10 });
  return { knex, store, keys: new SqlKeyStore(knex), close: async () => (await store.close(), await knex.destroy(), await db.drop()) };
});
