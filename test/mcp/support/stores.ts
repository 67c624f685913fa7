import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlEventStore } from '../../../src/eventstore/sql';
import type { EventStore } from '../../../src/eventstore/port';

/** The embedded default store (SQLite file) in a fresh temp dir; `cleanup` closes and deletes it. */
export async function openTempSqliteStore(): Promise<{ store: EventStore; dir: string; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'omc-mcp-'));
  const store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
  return {
    store,
    dir,
    cleanup: async () => {
      await store.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A store whose appends fail while `down(stream)` says so (everything else passes through):
 * the audit log being unavailable, without faking the rest of the store.
 */
export function failingStore(inner: EventStore, down: (stream: string) => boolean): EventStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'append') {
        return (stream: string, ...rest: unknown[]) =>
          down(stream) ? Promise.reject(new Error('event store unavailable (test)')) : (target.append as (...a: unknown[]) => unknown)(stream, ...rest);
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
