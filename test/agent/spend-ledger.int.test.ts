import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { CacheSpendLedger, SqlSpendLedger, type SpendLedger } from '../../src/agent/policy/spend-ledger';
import { MemoryCache } from '../../src/cache/memory';
import { openRedisCache } from '../../src/cache/redis';
import { openKnex } from '../../src/db/knex';
import { migrateLatest } from '../../migrations';
import { createTestDatabase, mysqlAvailable, REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';

type LedgerFixture = {
  ledger: SpendLedger;
  /** A second ledger over the same storage, as after a restart or in another worker; undefined when the storage dies with the process. */
  reopen?(): Promise<SpendLedger>;
  close(): Promise<void>;
};

const DAY = '2026-11-22';
const WEI_2_70 = 2n ** 70n;

/** Every SpendLedger: exact big totals, separate keys, no lost additions under concurrency, bad amounts refused. */
function describeLedger(name: string, open: (ctx: Mocha.Context) => Promise<LedgerFixture>): void {
  describe(`SpendLedger conformance: ${name}`, function () {
    this.timeout(30_000);
    let f: LedgerFixture;
    before(async function () {
      f = await open(this);
    });
    after(async () => f?.close());

    it('keeps exact totals above 2^64 per tenant, agent, meter and day', async () => {
      const l = f.ledger;
      expect(await l.spent('acme', 'a-1', 'native:31337', DAY)).to.equal(0n);
      await l.add('acme', 'a-1', 'native:31337', DAY, WEI_2_70);
      await l.add('acme', 'a-1', 'native:31337', DAY, 5n);
      expect(await l.spent('acme', 'a-1', 'native:31337', DAY)).to.equal(WEI_2_70 + 5n);
      expect(await l.spent('acme', 'a-2', 'native:31337', DAY), 'another agent').to.equal(0n);
      expect(await l.spent('other', 'a-1', 'native:31337', DAY), 'another tenant').to.equal(0n);
      expect(await l.spent('acme', 'a-1', 'native:1', DAY), 'another meter').to.equal(0n);
      expect(await l.spent('acme', 'a-1', 'native:31337', '2026-11-23'), 'the next day').to.equal(0n);
    });

    it('loses no addition when many run at once', async () => {
      await Promise.all(Array.from({ length: 25 }, () => f.ledger.add('acme', 'a-c', 'method:1:0xabc:transfer', DAY, 3n)));
      expect(await f.ledger.spent('acme', 'a-c', 'method:1:0xabc:transfer', DAY)).to.equal(75n);
    });

    it('takes back a released amount, never below zero, and refuses a negative release', async () => {
      const l = f.ledger;
      await l.add('acme', 'a-x', 'native:1', DAY, 10n);
      await l.release('acme', 'a-x', 'native:1', DAY, 4n);
      expect(await l.spent('acme', 'a-x', 'native:1', DAY)).to.equal(6n);
      await l.release('acme', 'a-x', 'native:1', DAY, 100n);
      expect(await l.spent('acme', 'a-x', 'native:1', DAY)).to.equal(0n);
      let err: unknown;
      await l.release('acme', 'a-x', 'native:1', DAY, -1n).catch((e: unknown) => (err = e));
      expect((err as Error)?.message).to.match(/non-negative/);
    });

    it('refuses a negative amount and records nothing', async () => {
      let err: unknown;
      await f.ledger.add('acme', 'a-n', 'native:1', DAY, -1n).catch((e: unknown) => (err = e));
      expect((err as Error)?.message).to.match(/non-negative/);
      expect(await f.ledger.spent('acme', 'a-n', 'native:1', DAY)).to.equal(0n);
    });

    it('counts a keyed addition once per tenant and key: a repeat (even at once, or on another day) adds nothing', async () => {
      const l = f.ledger;
      await l.add('acme', '*', 'llm-tokens', DAY, 60n, 'turn-1');
      await l.add('acme', '*', 'llm-tokens', DAY, 60n, 'turn-1');
      await l.add('acme', '*', 'llm-tokens', '2026-11-23', 60n, 'turn-1');
      await Promise.all(Array.from({ length: 5 }, () => l.add('acme', '*', 'llm-tokens', DAY, 7n, 'turn-2')));
      await l.add('acme', '*', 'llm-tokens', DAY, 1n);
      await l.add('acme', '*', 'llm-tokens', DAY, 1n);
      expect(await l.spent('acme', '*', 'llm-tokens', DAY)).to.equal(60n + 7n + 2n);
      expect(await l.spent('acme', '*', 'llm-tokens', '2026-11-23'), 'the key was booked the day before').to.equal(0n);
      await l.add('other', '*', 'llm-tokens', DAY, 5n, 'turn-1');
      expect(await l.spent('other', '*', 'llm-tokens', DAY), 'another tenant\'s key').to.equal(5n);
    });

    it('counts a keyed addition once when repeats on other days run at the same time (a day is not part of the key)', async () => {
      const l = f.ledger;
      const days = ['2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25'];
      await Promise.all(days.map((day) => l.add('acme', '*', 'llm-days', day, 9n, 'turn-days')));
      const totals = await Promise.all(days.map((day) => l.spent('acme', '*', 'llm-days', day)));
      expect(totals.reduce((a, b) => a + b, 0n), totals.join(',')).to.equal(9n);
    });

    it('still has the totals after a restart (when its storage outlives the process)', async function () {
      if (!f.reopen) this.skip();
      await f.ledger.add('acme', 'a-r', 'native:1', DAY, 7n);
      const again = await f.reopen!();
      expect(await again.spent('acme', 'a-r', 'native:1', DAY)).to.equal(7n);
      await again.add('acme', 'a-r', 'native:1', DAY, 1n);
      expect(await f.ledger.spent('acme', 'a-r', 'native:1', DAY), 'both see one total').to.equal(8n);
    });
  });
}

function sqlFixture(open: () => Promise<Knex>, cleanup: () => Promise<void>): Promise<LedgerFixture> {
  const opened: Knex[] = [];
  const ledgerOn = async () => {
    const knex = await open();
    opened.push(knex);
    await migrateLatest(knex);
    return new SqlSpendLedger(knex);
  };
  return ledgerOn().then((ledger) => ({
    ledger,
    reopen: ledgerOn,
    close: async () => {
      for (const k of opened) await k.destroy();
      await cleanup();
    },
  }));
}

describeLedger('SQL (SQLite, the embedded default)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'omc-ledger-'));
  return sqlFixture(() => openKnex(`sqlite:${join(dir, 'openmcp.db')}`), async () => rmSync(dir, { recursive: true, force: true }));
});

describeLedger('SQL (MariaDB)', async (ctx) => {
  await requireService(ctx, 'MariaDB', mysqlAvailable);
  const db = await createTestDatabase('omc_ledger');
  return sqlFixture(() => openKnex(db.url), () => db.drop());
});

describeLedger('Redis', async (ctx) => {
  await requireService(ctx, 'Redis', redisAvailable);
  const p = redisTestPrefix('omc_ledger');
  const caches = [await openRedisCache(REDIS_TEST_URL, p.prefix)];
  return {
    ledger: new CacheSpendLedger(caches[0]),
    reopen: async () => {
      caches.push(await openRedisCache(REDIS_TEST_URL, p.prefix));
      return new CacheSpendLedger(caches[caches.length - 1]);
    },
    close: async () => {
      for (const c of caches) await c.close();
      await p.drop();
    },
  };
});

describeLedger('in-memory cache', async () => ({ ledger: new CacheSpendLedger(new MemoryCache()), close: async () => {} }));

describe('SqlSpendLedger: a database unreachable a moment', function () {
  this.timeout(30_000);

  it('rejects with DEPENDENCY_UNAVAILABLE (an agent run then stops to be tried again, rather than fail its task); other errors as they are', async () => {
    const { default: knexFactory } = await import('knex');
    // Nobody listens on port 1: every statement meets ECONNREFUSED.
    const down = knexFactory({ client: 'mysql2', connection: { host: '127.0.0.1', port: 1, user: 'root', database: 'nodb' }, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 5_000, log: { warn() {}, error() {}, debug() {}, deprecate() {} } });
    const dir = mkdtempSync(join(tmpdir(), 'spend-ledger-'));
    // A database without the ledger's table: a statement error, the same every time.
    const bare = await openKnex(`sqlite:${join(dir, 'bare.db')}`);
    try {
      const ledger = new SqlSpendLedger(down);
      for (const attempt of [() => ledger.spent('acme', 'a-1', 'native:1', DAY), () => ledger.add('acme', 'a-1', 'native:1', DAY, 1n), () => ledger.release('acme', 'a-1', 'native:1', DAY, 1n)]) {
        const err = (await attempt().then(() => undefined, (e: unknown) => e)) as { code?: string; message: string } | undefined;
        expect(err?.code, err?.message).to.equal('DEPENDENCY_UNAVAILABLE');
        expect(err?.message).to.match(/^spend ledger \(mysql\): (spent|add|release): ECONNREFUSED$/);
      }
      const refused = (await new SqlSpendLedger(bare).spent('acme', 'a-1', 'native:1', DAY).then(() => undefined, (e: unknown) => e)) as { code?: string } | undefined;
      expect(refused?.code).to.match(/^SQLITE_ERROR/);
    } finally {
      await down.destroy();
      await bare.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
