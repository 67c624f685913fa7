import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import Redis from 'ioredis';

export const MYSQL_BASE_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const inCi = process.env.CI === 'true';

/**
 * Skip a service-backed suite loudly when the service is missing, or fail it under CI=true
 * (CI must never pass by skipping). Call from a mocha `before` hook with `this`.
 */
export async function requireService(ctx: Mocha.Context, name: string, check: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (err) {
    const msg = `${name} is not reachable (${(err as Error).message})`;
    if (inCi) throw new Error(`${msg}: service-backed tests are mandatory under CI=true`);
    console.warn(`\n  !!! SKIPPING: ${msg}. Start it to run these tests.\n`);
    ctx.skip();
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

async function withAdmin<T>(fn: (k: ReturnType<typeof knexFactory>) => Promise<T>): Promise<T> {
  const u = new URL(MYSQL_BASE_URL);
  const admin = knexFactory({
    client: 'mysql2',
    connection: { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password) },
    pool: { min: 0, max: 1 },
  });
  try {
    return await fn(admin);
  } finally {
    await admin.destroy();
  }
}

export async function mysqlAvailable(): Promise<void> {
  await withAdmin((k) => k.raw('SELECT 1'));
}

/** A fresh, uniquely named MariaDB database; `drop()` removes it. */
export async function createTestDatabase(prefix = 'omc_test'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = uniqueName(prefix);
  await withAdmin((k) => k.raw('CREATE DATABASE ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_bin', [name]));
  return {
    name,
    url: `${MYSQL_BASE_URL.replace(/\/$/, '')}/${name}`,
    drop: () => withAdmin((k) => k.raw('DROP DATABASE IF EXISTS ??', [name])).then(() => undefined),
  };
}

export async function redisAvailable(): Promise<void> {
  const r = new Redis(REDIS_TEST_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    await r.ping();
  } finally {
    r.disconnect();
  }
}

/** A unique key prefix; `drop()` deletes every key under it. */
export function redisTestPrefix(prefix = 'omc_test'): { prefix: string; drop(): Promise<void> } {
  const p = `${uniqueName(prefix)}:`;
  return {
    prefix: p,
    async drop() {
      const r = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 1 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${p}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length) await r.del(...keys);
        } while (cursor !== '0');
      } finally {
        r.disconnect();
      }
    },
  };
}
