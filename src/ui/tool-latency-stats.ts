import type { RecordedEvent } from '../core/envelope';

export type ToolServerStats = {
  serverId: string;
  server: string;
  calls: number;
  errors: number;
  /** Over the last `window` calls, in milliseconds. */
  p50Ms?: number;
  p95Ms?: number;
  lastCallAt?: string;
};

type Window = { server: string; tenant: string; latenciesUs: number[]; calls: number; errors: number; lastCallAt?: string };

/**
 * Latency and error counts of tool calls per upstream server and calling tenant, from the
 * ToolCallCompleted/ToolCallFailed events (latencyUs), over the last `window` calls of each.
 */
export class ToolLatencyStats {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly window = 200) {}

  add(e: RecordedEvent): void {
    if (e.type !== 'ToolCallCompleted' && e.type !== 'ToolCallFailed') return;
    const d = e.data as { serverId?: string; server?: string; latencyUs?: number; isError?: boolean };
    if (typeof d.serverId !== 'string' || typeof d.latencyUs !== 'number') return;
    const key = `${e.tenant}\u0000${d.serverId}`;
    let w = this.windows.get(key);
    if (!w) this.windows.set(key, (w = { server: String(d.server ?? d.serverId), tenant: e.tenant, latenciesUs: [], calls: 0, errors: 0 }));
    w.calls++;
    if (e.type === 'ToolCallFailed' || d.isError === true) w.errors++;
    w.latenciesUs.push(d.latencyUs);
    if (w.latenciesUs.length > this.window) w.latenciesUs.shift();
    w.lastCallAt = e.occurredAt;
  }

  /** Stats of the calls made by the tenants `tenants` accepts, merged per server. */
  byServer(tenants: (tenant: string) => boolean): ToolServerStats[] {
    const merged = new Map<string, Window>();
    for (const [key, w] of this.windows) {
      if (!tenants(w.tenant)) continue;
      const serverId = key.split('\u0000')[1];
      const m = merged.get(serverId) ?? { server: w.server, tenant: w.tenant, latenciesUs: [], calls: 0, errors: 0 };
      m.calls += w.calls;
      m.errors += w.errors;
      m.latenciesUs.push(...w.latenciesUs);
      if (!m.lastCallAt || (w.lastCallAt && w.lastCallAt > m.lastCallAt)) m.lastCallAt = w.lastCallAt;
      merged.set(serverId, m);
    }
    return [...merged].map(([serverId, w]) => {
      const sorted = [...w.latenciesUs].sort((a, b) => a - b);
      // Nearest rank, as bench/ reports them: the smallest latency at least p of the calls took.
      const pct = (p: number) => Math.round(sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] / 100) / 10;
      return {
        serverId,
        server: w.server,
        calls: w.calls,
        errors: w.errors,
        ...(sorted.length ? { p50Ms: pct(0.5), p95Ms: pct(0.95) } : {}),
        ...(w.lastCallAt ? { lastCallAt: w.lastCallAt } : {}),
      };
    });
  }
}
