import { countedErrorCode } from './error-code';
import type { EventStore } from '../eventstore/port';
import type { Metrics } from './metrics';

/**
 * Wrap a store so every append is timed into `openmcp_eventstore_append_duration_seconds`
 * and failed appends count under their error code (countedErrorCode). Everything else passes through.
 */
export function instrumentEventStore(store: EventStore, metrics: Metrics): EventStore {
  const append: EventStore['append'] = async (stream, events, options) => {
    const end = metrics.appendDuration.startTimer({ store: store.name });
    try {
      return await store.append(stream, events, options);
    } catch (err) {
      metrics.errors.inc({ code: countedErrorCode(err) });
      throw err;
    } finally {
      end();
    }
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'append') return append;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
