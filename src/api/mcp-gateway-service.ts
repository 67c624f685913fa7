import type { McpGateway } from '../mcp/gateway';
import type { McpGatewayService } from './services';

/**
 * The REST face of the MCP gateway (src/mcp/gateway.ts): server listings keep the gateway's
 * fields (health, toolCount, registeredAt…) and tool matches flatten to {name (the one to call), server, tool (the upstream's own name), score}.
 * @example buildApp({ ...deps, gateway: mcpGatewayService(gw) })
 */
export function mcpGatewayService(gw: McpGateway): McpGatewayService {
  return {
    // A registration sent again (its first answer lost) finds its server: safe to retry.
    registerServer: (p) => gw.registerOrMatch(p),
    listServers: async (tenant, options) => gw.listServers(tenant, options),
    // The request id becomes the event's correlationId (docs/errors.md), as on every other command.
    removeServer: (tenant, id, actor, correlationId, options) => gw.removeServer(tenant, id, actor, correlationId, options),
    servedTool: (tenant, name) => {
      const t = gw.listTools(tenant).find((x) => x.name === name);
      return t && { server: t.server, tool: t.upstreamName };
    },
    searchTools: async (tenant, q, k) =>
      (await gw.searchTools(tenant, q, k)).map(({ tool, score }) => ({
        name: tool.name,
        server: tool.server,
        tool: tool.upstreamName,
        ...(tool.title ? { title: tool.title } : {}),
        ...(tool.description ? { description: tool.description } : {}),
        score,
      })),
  };
}
