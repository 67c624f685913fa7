import { Gauge, type Registry } from 'prom-client';

export const TENANT_CIRCUITS_METRIC = 'openmcp_mcp_tenant_circuits_open';

/**
 * `openmcp_mcp_tenant_circuits_open{server}`: per shared server (tenant `*`, by name), how many
 * tenants' own circuits are open or half-open on this replica (their calls' timeouts opened them:
 * TenantBreakers), read from `shared` at scrape time. A count, never which tenants: no tenant label,
 * and only shared servers, which the operator configures, so the label's values stay few. A
 * server's own circuit opening shows as its health going down (McpServerHealthChanged).
 * Replaces the gauge of an earlier gateway on the same registry (the latest one is read).
 * @example trackTenantCircuits(registry, () => [{ server: 'crm', open: 2 }])
 */
export function trackTenantCircuits(registry: Registry, shared: () => { server: string; open: number }[]): void {
  if (registry.getSingleMetric(TENANT_CIRCUITS_METRIC)) registry.removeSingleMetric(TENANT_CIRCUITS_METRIC);
  new Gauge({
    name: TENANT_CIRCUITS_METRIC,
    help: "Per shared MCP server, how many tenants' own circuits (opened by their calls' timeouts) are open or half-open on this replica.",
    labelNames: ['server'],
    registers: [registry],
    collect() {
      // Reset first: a server removed since the last scrape is no longer shown.
      this.reset();
      for (const s of shared()) this.set({ server: s.server }, s.open);
    },
  });
}
