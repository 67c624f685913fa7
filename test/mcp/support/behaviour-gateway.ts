import { McpGateway } from '../../../src/mcp/gateway';
import { startBehaviourUpstream, type BehaviourUpstream } from './behaviour-upstream';
import { openTempSqliteStore } from './stores';

export type BehaviourGateway = {
  gateway: McpGateway;
  upstream: BehaviourUpstream;
  /** Closes the gateway, then the upstream, then deletes the store. */
  close(): Promise<void>;
};

/**
 * A gateway on a fresh SQLite store with the behaviour upstream registered as `beh` (tools
 * `beh__…`) for tenant `acme`, as alice: what the tests of the gateway's wire (/mcp, stdio) serve.
 */
export async function startBehaviourGateway(options: { callTimeoutMs?: number } = {}): Promise<BehaviourGateway> {
  const db = await openTempSqliteStore();
  const gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0, ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}) } });
  await gateway.start();
  const upstream = await startBehaviourUpstream();
  await gateway.registerServer({ tenant: 'acme', actor: { kind: 'user', id: 'alice' }, name: 'beh', transport: 'http', url: upstream.url });
  return {
    gateway,
    upstream,
    async close() {
      await gateway.close();
      await upstream.close();
      await db.cleanup();
    },
  };
}
