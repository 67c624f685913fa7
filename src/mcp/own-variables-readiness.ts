import type { ReadinessCheck } from '../telemetry/readiness-check';
import type { McpGateway } from './gateway';

/** The /readyz line of the servers this replica cannot reach for a variable of its own environment. */
export const OWN_VARIABLES_CHECK_NAME = "mcp servers (this replica's environment)";

/** Servers named in the line at most: a probe's answer stays short however many servers lack a variable. */
const NAMED = 10;

/**
 * The /readyz line (and `openmcp_dependency_up`) saying which servers this replica cannot reach
 * only because a variable their `${env:NAME}` references name (url, headers, a stdio server's env)
 * is not set or not usable in its environment: `degraded` with `MCP_SECRET_MISSING`, each server
 * (name and id) and the variable, never its value; `up` otherwise. The replica records no health
 * of such a server (its configuration, not the server's: docs/operations.md, "Health across
 * replicas"), so this line, read from its own view at each probe or scrape, is where an operator
 * sees it, per replica, with no event. Degraded, not down: the replica serves every other server.
 * @example await ownVariablesReadiness(gateway).check() // { state: 'degraded', detail: 'MCP_SECRET_MISSING: 1 server unreachable here: hosted (id …) needs GITHUB_TOKEN, not set here; …' }
 */
export function ownVariablesReadiness(gateway: Pick<McpGateway, 'variablesMissingHere'>): ReadinessCheck {
  return {
    name: OWN_VARIABLES_CHECK_NAME,
    async check() {
      const missing = gateway.variablesMissingHere();
      if (missing.length === 0) return { state: 'up', detail: 'no server lacks a variable here' };
      const each = missing.slice(0, NAMED).map((m) => `${m.server} (id ${m.serverId}) needs ${m.variable}, ${m.problem === 'unset' ? 'not set' : 'unusable'} here`);
      if (missing.length > NAMED) each.push(`${missing.length - NAMED} more (this replica's log warns of each, naming it and its variable)`);
      return {
        state: 'degraded',
        detail: `MCP_SECRET_MISSING: ${missing.length} server${missing.length === 1 ? '' : 's'} unreachable from this replica only: ${each.join('; ')} (give this process the variable; replicas that have it reach the server)`,
      };
    },
  };
}
