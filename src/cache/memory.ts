import { LRUCache } from 'lru-cache';
import type { Cache } from './port';

type Entry = { value: string; expiresAt: number };

/** In-process twin of the Redis cache, bounded by an LRU so a busy gateway cannot grow it forever. */
export class MemoryCache implements Cache {
  readonly name = 'memory';
  private readonly entries: LRUCache<string, Entry>;
  // Outside the LRU: an evicted token would restart at 0 and break fencing.
  private readonly leaseTokens = new Map<string, number>();

  constructor(maxEntries = 100_000) {
    this.entries = new LRUCache<string, Entry>({ max: maxEntries });
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  async get(key: string): Promise<string | undefined> {
    return this.live(key)?.value;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs });
  }

  async del(...keys: string[]): Promise<void> {
    for (const k of keys) this.entries.delete(k);
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    if (this.live(key)) return false;
    await this.set(key, value, ttlMs);
    return true;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    const e = this.live(key);
    if (!e) return false;
    e.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }> {
    const now = Date.now();
    const windowStart = now - (now % windowMs);
    const k = `${key}:${windowStart}`;
    const count = Number(this.live(k)?.value ?? 0) + 1;
    this.entries.set(k, { value: String(count), expiresAt: windowStart + windowMs });
    return { count, resetMs: windowStart + windowMs - now };
  }

  async acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const held = this.live(key);
    if (held && held.value !== owner) return false;
    this.entries.set(key, { value: owner, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async releaseLock(key: string, owner: string): Promise<void> {
    if (this.live(key)?.value === owner) this.entries.delete(key);
  }

  async acquireLease(key: string, owner: string, ttlMs: number): Promise<number | undefined> {
    const held = this.live(key);
    if (held && held.value !== owner) return undefined;
    const token = held ? (this.leaseTokens.get(key) ?? 0) : (this.leaseTokens.get(key) ?? 0) + 1;
    this.leaseTokens.set(key, token);
    this.entries.set(key, { value: owner, expiresAt: Date.now() + ttlMs });
    return token;
  }

  async leaseToken(key: string): Promise<number> {
    return this.leaseTokens.get(key) ?? 0;
  }

  async setIfLeaseToken(key: string, token: number, target: string, value: string, ttlMs?: number): Promise<boolean> {
    if ((this.leaseTokens.get(key) ?? 0) !== token) return false;
    await this.set(target, value, ttlMs);
    return true;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.entries.clear();
  }
}
