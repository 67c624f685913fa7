import { SpanKind, trace } from '@opentelemetry/api';
import type { EventStore } from '../eventstore/port';
import type { EventTraceContexts } from './event-trace-contexts';
import { withSpan } from './with-span';

/**
 * Wrap a store so every append is an `eventstore.append` span (child of the request's span) and,
 * with `contexts`, each event to append remembers that span's context for the relay and consumers.
 * Remembering is not awaited and its errors are dropped: tracing must never slow or fail a write.
 * With tracing off there is no active span, so this adds a function call and nothing else.
 * @example const store = tracedEventStore(instrumentEventStore(rawStore, metrics), new EventTraceContexts(cache))
 */
export function tracedEventStore(store: EventStore, contexts?: EventTraceContexts): EventStore {
  return {
    name: store.name,
    gapFreePositions: store.gapFreePositions,
    append: (stream, events, options) => {
      if (!trace.getActiveSpan()) return store.append(stream, events, options);
      return withSpan(
        'eventstore.append',
        { kind: SpanKind.CLIENT, attributes: { 'db.system.name': store.name, 'openmcp.stream': stream, 'openmcp.event_count': events.length } },
        async (span) => {
          // Before the append, not after it: a consumer in another process (the agent) could pick
          // the event up before a write sent afterwards lands, and start a trace of its own. An
          // event that then fails to append leaves a context nobody reads, until it expires.
          contexts?.remember(events.map((e) => e.id)).catch(() => undefined);
          const result = await store.append(stream, events, options);
          span.setAttribute('openmcp.position', result.position);
          return result;
        },
      );
    },
    readStream: (stream, options) => store.readStream(stream, options),
    readAll: (options) => store.readAll(options),
    subscribeAll: (options) => store.subscribeAll(options),
    headPosition: () => store.headPosition(),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
