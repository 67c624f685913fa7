import { ConfigError } from '../core/errors';

export const ROLE_NAMES = ['api', 'gateway', 'relay', 'projector', 'sealer', 'anchorer', 'agent'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
export type Roles = Record<RoleName, boolean> & { all: boolean };

/**
 * What is wrong with a roles spec (OPENMCP_ROLES, `start --roles`), or undefined: each word a role
 * name, or `all` alone.
 * @example rolesProblem('api,bogus') // 'expected all or a comma list of api, gateway, …'
 */
export function rolesProblem(spec: string): string | undefined {
  const words = roleWords(spec);
  const unknown = words.filter((w) => w !== 'all' && !(ROLE_NAMES as readonly string[]).includes(w));
  if (unknown.length || (words.includes('all') && words.length > 1)) return `expected all or a comma list of ${ROLE_NAMES.join(', ')}`;
  return undefined;
}

const roleWords = (spec: string) =>
  spec
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);

/**
 * Parse OPENMCP_ROLES / `start --roles`: `all` (default) or a comma list of role names.
 * @example parseRoles('api,projector').projector === true
 */
export function parseRoles(spec: string): Roles {
  const problem = rolesProblem(spec);
  if (problem) throw new ConfigError(`Invalid configuration: OPENMCP_ROLES=${JSON.stringify(spec)}: ${problem}`, { variable: 'OPENMCP_ROLES' });
  const words = roleWords(spec);
  const all = words.length === 0 || (words.length === 1 && words[0] === 'all');
  const roles = { all } as Roles;
  for (const r of ROLE_NAMES) roles[r] = all || words.includes(r);
  return roles;
}

/**
 * Whether a process with these roles connects to the upstream MCP servers (starting each stdio
 * server as its child): `gateway` calls them for /mcp, `agent` for its tasks' tool steps, `api`
 * waits on a new server's first tool discovery (POST /v1/mcp-servers) and shows its own
 * connections in the dashboard's MCP panel. The others (relay, projector, sealer, anchorer) never
 * call a tool, so they build no gateway: no upstream process, connection or health check of theirs,
 * and they need none of the upstreams' secrets.
 * @example connectsUpstreams(parseRoles('projector,sealer')) === false
 */
export function connectsUpstreams(roles: Roles): boolean {
  return roles.api || roles.gateway || roles.agent;
}
