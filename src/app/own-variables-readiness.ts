import type { ReadinessCheck } from '../telemetry/readiness-check';
import type { McpGateway } from '../mcp/gateway';

/** The /readyz line of the servers this replica cannot reach for a variable of its own environment. */
export const OWN_VARIABLES_CHECK_NAME = "mcp servers (this replica's environment)";

/**
 * The /readyz line (and `openmcp_dependency_up`) saying how many servers this replica cannot reach
 * only because a variable their `${env:NAME}` references name (url, headers, a stdio server's env)
 * is not set or not usable in its environment: `degraded` with `MCP_SECRET_MISSING` and the count;
 * `up` otherwise. The replica records no health of such a server (its configuration, not the
 * server's: docs/operations.md, "Health across replicas"), so this line, read from its own view at
 * each probe or scrape, is where an operator sees it, per replica, with no event. Degraded, not
 * down: the replica serves every other server. Counts only: /readyz is public, and a server's name,
 * id and the variable its registration names are its tenant's; they are in this replica's log (a
 * warning each) and its own view (McpGateway.status, the dashboard's MCP page, tenant by tenant).
 * @example await ownVariablesReadiness(gateway).check() // { state: 'degraded', detail: 'MCP_SECRET_MISSING: 1 server unreachable from this replica only …' }
 */
export function ownVariablesReadiness(gateway: Pick<McpGateway, 'variablesMissingHere'>): ReadinessCheck {
  return {
    name: OWN_VARIABLES_CHECK_NAME,
    async check() {
      const missing = gateway.variablesMissingHere();
      if (missing === 0) return { state: 'up', detail: 'no server lacks a variable here' };
      return {
        state: 'degraded',
        detail:
          `MCP_SECRET_MISSING: ${missing} server${missing === 1 ? '' : 's'} unreachable from this replica only, for a variable their \${env:NAME} references that is not set (or not usable) here; ` +
          "which, and the variable: this replica's log (warning 'upstream unavailable on this replica') and its dashboard's MCP page (give this process the variable; replicas that have it reach the server)",
      };
    },
  };
}
