import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Cache } from '../cache/port';
import { systemClock, type Clock } from '../core/clock';

const keyOf = (replica: string): string => `mcp-replica:${replica}`;

/**
 * A gateway replica's name as the actor of the health changes it records: unique per process
 * (a restarted container keeps its host name and often its pid, hence the random part).
 * @example replicaActorId() // 'mcp-gateway:web-1:4711:9f3a1c'
 */
export function replicaActorId(): string {
  return `mcp-gateway:${hostname().slice(0, 100)}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * Which gateway replicas are alive, so that one that reaches a server may set right a "down"
 * recorded by a replica that is gone (McpGateway). Each replica keeps `mcp-replica:<id>` in the
 * cache (Redis across processes), holding the instant, by its clock, until which it vouches for
 * itself, renewed every third of `ttlMs`; the cache entry expires with it. A replica that dies
 * stops renewing; one that closes deletes its entry at once. Replicas' clocks must agree to well
 * within `ttlMs`, as for agent task leases.
 * @example const p = new ReplicaPresence(cache, replicaActorId(), 45_000); await p.start(); await p.isAlive(other)
 */
export class ReplicaPresence {
  private timer?: NodeJS.Timeout;
  private started?: Promise<void>;
  private unwatch?: () => void;
  /** Until when (by the clock) every replica is taken for alive: the cache may have lost their entries. */
  private lostUntil = 0;

  constructor(
    private readonly cache: Cache,
    readonly id: string,
    readonly ttlMs: number,
    private readonly clock: Clock = systemClock,
    private readonly logger?: { warn(obj: unknown, msg?: string): void },
  ) {}

  /**
   * Write the entry and renew it on a timer; once (later calls wait for the first). A cache that
   * may have lost writes (Redis restarted empty, a failover: onWritesMaybeLost) lost the others'
   * entries too, which they renew only on their next beat: every replica is then taken for alive
   * for a TTL, and this one writes its own again at once.
   */
  start(): Promise<void> {
    this.unwatch ??= this.cache.onWritesMaybeLost?.(() => {
      this.lostUntil = this.clock().getTime() + this.ttlMs;
      if (this.timer) void this.beat();
    });
    this.started ??= this.beat().then(() => {
      this.timer = setInterval(() => void this.beat(), Math.max(1, Math.floor(this.ttlMs / 3)));
      this.timer.unref();
    });
    return this.started;
  }

  private async beat(): Promise<void> {
    try {
      await this.cache.set(keyOf(this.id), String(this.clock().getTime() + this.ttlMs), this.ttlMs);
    } catch (err) {
      // Not fatal: others may then take this replica for gone and set right its "down" once.
      this.logger?.warn({ err, replica: this.id }, 'mcp gateway: this replica could not renew its presence in the cache');
    }
  }

  /** Stop renewing, leaving the entry to expire (a process that exits at once). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Stop renewing and delete the entry, so that others need not wait for it to expire. */
  async leave(): Promise<void> {
    this.stop();
    if (this.started) await this.cache.del(keyOf(this.id)).catch(() => {});
  }

  /**
   * Whether replica `id` vouches for itself now. True when the cache cannot say (unreachable, or
   * it may have lost the entry within the last TTL): a record is never set right on a guess.
   */
  async isAlive(id: string): Promise<boolean> {
    if (this.clock().getTime() < this.lostUntil) return true;
    try {
      const until = await this.cache.get(keyOf(id));
      return until !== undefined && Number(until) > this.clock().getTime();
    } catch {
      return true;
    }
  }
}
