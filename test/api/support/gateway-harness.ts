import { mcpGatewayService } from '../../../src/api/mcp-gateway-service';
import type { AppDeps } from '../../../src/api/deps';
import { McpGateway, type McpGatewayOptions } from '../../../src/mcp/gateway';
import { makeHarness, type Harness } from './harness';

/**
 * The API harness with a real McpGateway on the harness's own event store (built after the store
 * is open, then swapped in behind the routes). `gateway`: more of the gateway's options (its
 * payload policy, a logger); `harness`: makeHarness' options (another database). Close with `close()`: gateway, then harness.
 */
export async function makeGatewayHarness(
  over: Partial<AppDeps> = {},
  connectTimeoutMs = 5_000,
  gateway: Omit<Partial<McpGatewayOptions>, 'store' | 'upstream'> = {},
  harness: Parameters<typeof makeHarness>[1] = {},
): Promise<{ h: Harness; gw: McpGateway; close(): Promise<void> }> {
  let svc: ReturnType<typeof mcpGatewayService> | undefined;
  const h = await makeHarness({
    ...over,
    gateway: {
      registerServer: (p) => svc!.registerServer(p),
      listServers: (t, o) => svc!.listServers(t, o),
      removeServer: (t, id, a, c, o) => svc!.removeServer(t, id, a, c, o),
      searchTools: (t, q, k) => svc!.searchTools(t, q, k),
    },
  }, harness);
  const gw = new McpGateway({ ...gateway, store: h.store, upstream: { connectTimeoutMs, healthIntervalMs: 0 } });
  await gw.start();
  svc = mcpGatewayService(gw);
  return {
    h,
    gw,
    close: async () => {
      await gw.close();
      await h.close();
    },
  };
}
