import { LRUCache } from 'lru-cache';
import type { Cache } from './port';

type Entry = { value: string; expiresAt: number };

/** Default bound of the values an in-memory cache keeps, counted as UTF-16 (2 bytes a character). */
export const MEMORY_CACHE_MAX_BYTES = 256 * 1024 * 1024;

/** Locks and leases kept before the expired ones are swept out (they go on release, or on their TTL). */
const HELD_SWEEP_AT = 1024;

/**
 * In-process twin of the Redis cache, bounded by an LRU so a busy gateway cannot grow it forever:
 * at most `maxEntries` values and `maxBytes` of keys and values (a cached tool result can be
 * megabytes, so a count alone bounded nothing); a value over a sixteenth of `maxBytes` is not
 * kept. Locks and leases are never evicted (an evicted lock would let a second owner in while
 * the first still works): only their release or their TTL frees them.
 */
export class MemoryCache implements Cache {
  readonly name = 'memory';
  private readonly entries: LRUCache<string, Entry>;
  /** Locks and leases, outside the LRU. */
  private readonly held = new Map<string, Entry>();
  private sweepAt = HELD_SWEEP_AT;
  // Outside the LRU: an evicted token would restart at 0 and break fencing.
  private readonly leaseTokens = new Map<string, number>();

  constructor(maxEntries = 100_000, maxBytes = MEMORY_CACHE_MAX_BYTES) {
    this.entries = new LRUCache<string, Entry>({
      max: maxEntries,
      maxSize: maxBytes,
      maxEntrySize: Math.max(1, Math.floor(maxBytes / 16)),
      sizeCalculation: (e, key) => 2 * (key.length + e.value.length) + 64,
    });
  }

  private live(key: string): Entry | undefined {
    const e = this.held.get(key) ?? this.entries.get(key);
    if (e && e.expiresAt <= Date.now()) {
      this.held.delete(key);
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Hold `key` for `owner` until `ttlMs` from now, outside the LRU. */
  private hold(key: string, owner: string, ttlMs: number): void {
    this.entries.delete(key);
    this.held.set(key, { value: owner, expiresAt: Date.now() + ttlMs });
    if (this.held.size > this.sweepAt) {
      const now = Date.now();
      for (const [k, e] of this.held) if (e.expiresAt <= now) this.held.delete(k);
      this.sweepAt = Math.max(HELD_SWEEP_AT, 2 * this.held.size);
    }
  }

  async get(key: string): Promise<string | undefined> {
    return this.live(key)?.value;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.held.delete(key);
    this.entries.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs });
  }

  async del(...keys: string[]): Promise<void> {
    for (const k of keys) {
      this.held.delete(k);
      this.entries.delete(k);
    }
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
    this.hold(key, owner, ttlMs);
    return true;
  }

  async releaseLock(key: string, owner: string): Promise<void> {
    if (this.live(key)?.value === owner) {
      this.held.delete(key);
      this.entries.delete(key);
    }
  }

  async acquireLease(key: string, owner: string, ttlMs: number): Promise<number | undefined> {
    const held = this.live(key);
    if (held && held.value !== owner) return undefined;
    const token = held ? (this.leaseTokens.get(key) ?? 0) : (this.leaseTokens.get(key) ?? 0) + 1;
    this.leaseTokens.set(key, token);
    this.hold(key, owner, ttlMs);
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
    this.held.clear();
  }
}
