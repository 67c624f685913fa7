import { context, isSpanContextValid, propagation, ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import type { Cache } from '../cache/port';

/**
 * Remembers which trace appended each event, so the relay (or an in-process consumer) that picks
 * the event up later, maybe in another process, continues that trace. The envelope is hashed and
 * part of the public contract, so the trace context lives beside it: in the cache (Redis across
 * processes), for `ttlMs`. Best effort by design: a miss only starts the next span in a new trace.
 */
export class EventTraceContexts {
  constructor(
    private readonly cache: Cache,
    private readonly ttlMs = 15 * 60_000,
  ) {}

  private key(eventId: string): string {
    return `trace:${eventId}`;
  }

  /** Store the active trace context (or `ctx`) for each event id; nothing when no span is recording. */
  async remember(eventIds: string[], ctx: Context = context.active()): Promise<void> {
    const sc = trace.getSpanContext(ctx);
    if (!sc || !isSpanContextValid(sc)) return;
    const carrier: Record<string, string> = {};
    propagation.inject(ctx, carrier);
    if (!carrier.traceparent) return;
    const value = JSON.stringify(carrier);
    await Promise.all(eventIds.map((id) => this.cache.set(this.key(id), value, this.ttlMs)));
  }

  /** The context `remember` stored for `eventId`, or undefined. */
  async recall(eventId: string): Promise<Context | undefined> {
    const value = await this.cache.get(this.key(eventId));
    if (!value) return undefined;
    try {
      const ctx = propagation.extract(ROOT_CONTEXT, JSON.parse(value) as Record<string, string>);
      const sc = trace.getSpanContext(ctx);
      return sc && isSpanContextValid(sc) ? ctx : undefined;
    } catch {
      return undefined;
    }
  }
}
