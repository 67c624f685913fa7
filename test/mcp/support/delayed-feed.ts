import type { EventStore, Subscription } from '../../../src/eventstore/port';

/**
 * `inner`, but what its subscriptions deliver waits while `held`: a replica that has not read the
 * latest events yet. `pass()` lets one more event through while held (the next in the log's order).
 */
export function delayedFeed(inner: EventStore): { store: EventStore; hold(): void; release(): void; pass(): void; delivered: Set<string> } {
  let held = false;
  let passes = 0;
  let waiting: (() => void)[] = [];
  const delivered = new Set<string>();
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'subscribeAll') {
        return (...args: Parameters<EventStore['subscribeAll']>): Subscription => {
          const sub = target.subscribeAll(...args);
          const it = sub[Symbol.asyncIterator]();
          return {
            close: () => sub.close(),
            [Symbol.asyncIterator]: () => ({
              next: async () => {
                const r = await it.next();
                while (held && passes === 0) await new Promise<void>((resolve) => waiting.push(resolve));
                if (held) passes--;
                if (!r.done) delivered.add(r.value.id);
                return r;
              },
              return: async () => (await it.return?.()) ?? { done: true, value: undefined },
            }),
          };
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return {
    store,
    delivered,
    hold: () => void (held = true),
    release: () => {
      held = false;
      for (const w of waiting.splice(0)) w();
    },
    pass: () => {
      passes++;
      for (const w of waiting.splice(0)) w();
    },
  };
}
