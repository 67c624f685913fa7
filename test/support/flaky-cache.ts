import type { Cache } from '../../src/cache/port';

type Method = 'get' | 'set' | 'del' | 'acquireLock' | 'releaseLock';

/**
 * A Cache over a real one whose chosen commands fail, as during a Redis blip: `fail('set',
 * /nonce-next/)` makes the next `set` of a matching key throw (the command does not reach the
 * cache). Every other command goes through. `failed` lists what was refused.
 */
export class FlakyCache implements Cache {
  readonly failed: string[] = [];
  private readonly faults: { method: Method; key: RegExp; times: number }[] = [];

  constructor(private readonly inner: Cache) {}

  get name(): string {
    return this.inner.name;
  }

  /** The next `times` calls of `method` on a key matching `key` throw. */
  fail(method: Method, key: RegExp, times = 1): void {
    this.faults.push({ method, key, times });
  }

  /** Every command goes through again. */
  heal(): void {
    this.faults.length = 0;
  }

  private check(method: Method, key: string): void {
    const f = this.faults.find((x) => x.method === method && x.times > 0 && x.key.test(key));
    if (!f) return;
    f.times--;
    this.failed.push(`${method} ${key}`);
    throw new Error(`connection lost (test: ${method} ${key})`);
  }

  async get(key: string) {
    this.check('get', key);
    return this.inner.get(key);
  }
  async set(key: string, value: string, ttlMs?: number) {
    this.check('set', key);
    return this.inner.set(key, value, ttlMs);
  }
  async del(...keys: string[]) {
    for (const k of keys) this.check('del', k);
    return this.inner.del(...keys);
  }
  setIfAbsent(key: string, value: string, ttlMs?: number) {
    return this.inner.setIfAbsent(key, value, ttlMs);
  }
  expire(key: string, ttlMs: number) {
    return this.inner.expire(key, ttlMs);
  }
  hit(key: string, windowMs: number) {
    return this.inner.hit(key, windowMs);
  }
  async acquireLock(key: string, owner: string, ttlMs: number) {
    this.check('acquireLock', key);
    return this.inner.acquireLock(key, owner, ttlMs);
  }
  async releaseLock(key: string, owner: string) {
    this.check('releaseLock', key);
    return this.inner.releaseLock(key, owner);
  }
  acquireLease(key: string, owner: string, ttlMs: number) {
    return this.inner.acquireLease(key, owner, ttlMs);
  }
  leaseToken(key: string) {
    return this.inner.leaseToken(key);
  }
  setIfLeaseToken(key: string, token: number, target: string, value: string, ttlMs?: number) {
    return this.inner.setIfLeaseToken(key, token, target, value, ttlMs);
  }
  ping() {
    return this.inner.ping();
  }
  close() {
    return this.inner.close();
  }
}
