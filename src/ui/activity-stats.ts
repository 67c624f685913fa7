import type { Permission } from '../auth/roles';
import { permissionOf, type EventNotice } from './event-notice';

export type ActivityBucket = {
  /** Start of the minute, ISO 8601 UTC. */
  start: string;
  events: number;
  tasksSubmitted: number;
  tasksCompleted: number;
  tasksFailed: number;
  toolCalls: number;
  toolErrors: number;
};

const MINUTE_MS = 60_000;
type Counts = Omit<ActivityBucket, 'start'>;
const zero = (): Counts => ({ events: 0, tasksSubmitted: 0, tasksCompleted: 0, tasksFailed: 0, toolCalls: 0, toolErrors: 0 });
/** A minute's counts, with its events by the permission that reads them (permissionOf). */
type Minute = Counts & { eventsBy: Map<Permission, number> };

/**
 * Per-minute counts per tenant for the dashboard's throughput and error-rate sparklines, kept
 * for `windowMinutes`. Memory is bounded by tenants × window, whatever the event rate.
 */
export class ActivityStats {
  private readonly byTenant = new Map<string, Map<number, Minute>>();
  /** Every tenant's minutes summed as they are counted: a cross-tenant key's series reads one map, not one per tenant. */
  private readonly allTenants = new Map<number, Minute>();
  /** The first minute counted in full (earlier ones were not, or only in part). */
  private firstFull = -Infinity;

  constructor(private readonly windowMinutes = 60) {}

  /**
   * The events before `n` are not counted (a process warms from its last events, not from a
   * minute boundary): `n`'s minute is only partly counted, so it and earlier ones are not shown.
   */
  startAt(n: EventNotice): void {
    const minute = Math.floor(Date.parse(n.occurredAt) / MINUTE_MS);
    if (Number.isFinite(minute)) this.firstFull = minute + 1;
  }

  add(n: EventNotice): void {
    const minute = Math.floor(Date.parse(n.occurredAt) / MINUTE_MS);
    if (!Number.isFinite(minute)) return;
    let buckets = this.byTenant.get(n.tenant);
    if (!buckets) this.byTenant.set(n.tenant, (buckets = new Map()));
    this.count(buckets, minute, n);
    this.count(this.allTenants, minute, n);
  }

  private count(buckets: Map<number, Minute>, minute: number, n: EventNotice): void {
    let c = buckets.get(minute);
    if (!c) {
      buckets.set(minute, (c = { ...zero(), eventsBy: new Map() }));
      for (const m of buckets.keys()) if (m <= minute - this.windowMinutes) buckets.delete(m);
    }
    c.events++;
    const permission = permissionOf(n);
    c.eventsBy.set(permission, (c.eventsBy.get(permission) ?? 0) + 1);
    if (n.type === 'TaskSubmitted') c.tasksSubmitted++;
    if (n.type === 'TaskCompleted') c.tasksCompleted++;
    if (n.type === 'TaskFailed') c.tasksFailed++;
    if (n.type === 'ToolCallCompleted' || n.type === 'ToolCallFailed') {
      c.toolCalls++;
      if (n.failure) c.toolErrors++;
    }
  }

  /**
   * The last `windowMinutes` minutes up to `now` of `tenant` (undefined: of every tenant), oldest first, empty minutes included; fewer
   * just after a start, whose first minutes were not counted in full. `events` counts only the
   * events `mayRead` allows (as the live stream tells each role only of those, visibleTo): a
   * viewer's count must not move when a key is issued, which it may not hear of.
   */
  series(tenant: string | undefined, now: number, mayRead: (p: Permission) => boolean = () => true): ActivityBucket[] {
    // One tenant's minutes, or the sum kept of all (tenant undefined): each page that shows them
    // reads them every 30 s and on live notices, so the cost must not grow with the tenants.
    const buckets = tenant === undefined ? this.allTenants : this.byTenant.get(tenant);
    const last = Math.floor(now / MINUTE_MS);
    const out: ActivityBucket[] = [];
    for (let m = Math.max(last - this.windowMinutes + 1, this.firstFull); m <= last; m++) {
      const sum = zero();
      const c = buckets?.get(m);
      if (c) {
        for (const k of Object.keys(sum) as (keyof Counts)[]) if (k !== 'events') sum[k] += c[k];
        for (const [permission, n] of c.eventsBy) if (mayRead(permission)) sum.events += n;
      }
      out.push({ start: new Date(m * MINUTE_MS).toISOString(), ...sum });
    }
    return out;
  }
}
