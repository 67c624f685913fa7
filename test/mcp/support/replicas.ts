import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlEventStore } from '../../../src/eventstore/sql';
import type { EventStore } from '../../../src/eventstore/port';
import { McpGateway, type McpGatewayOptions } from '../../../src/mcp/gateway';

export type Replica = { gw: McpGateway; store: EventStore };

export type ReplicasOnOneLog = {
  /** The log's directory (a test's other files may go there: deleted with it). */
  dir: string;
  /** Another started gateway replica, with its own connection to the log (polled every 50 ms). */
  open(): Promise<Replica>;
  /** Closes every replica opened, the last first, and deletes the log. */
  close(): Promise<void>;
};

/**
 * Gateway replicas following one SQLite event log in a fresh directory, as several processes of a
 * deployment do: no result cache, no periodic health checks, no retries, a 5 s connect timeout
 * unless `connectTimeoutMs` says otherwise.
 */
export function replicasOnOneLog(options: { logger?: McpGatewayOptions['logger']; connectTimeoutMs?: number } = {}): ReplicasOnOneLog {
  const dir = mkdtempSync(join(tmpdir(), 'omc-replicas-'));
  const url = `sqlite:${join(dir, 'events.db')}`;
  const opened: Replica[] = [];
  return {
    dir,
    async open() {
      const store = await openSqlEventStore(url, { pollIntervalMs: 50 });
      const gw = new McpGateway({
        store,
        cacheTtlMs: 0,
        ...(options.logger ? { logger: options.logger } : {}),
        upstream: { healthIntervalMs: 0, retries: 0, connectTimeoutMs: options.connectTimeoutMs ?? 5_000 },
      });
      await gw.start();
      const r = { gw, store };
      opened.push(r);
      return r;
    },
    async close() {
      for (const r of opened.splice(0).reverse()) {
        await r.gw.close();
        await r.store.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
