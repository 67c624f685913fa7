import { ConfigError } from '../core/errors';

export const ROLE_NAMES = ['api', 'gateway', 'relay', 'projector', 'sealer', 'anchorer', 'agent'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];
export type Roles = Record<RoleName, boolean> & { all: boolean };

/**
 * Parse OPENMCP_ROLES / `start --roles`: `all` (default) or a comma list of role names.
 * @example parseRoles('api,projector').projector === true
 */
export function parseRoles(spec: string): Roles {
  const words = spec
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);
  const all = words.length === 0 || (words.length === 1 && words[0] === 'all');
  const unknown = words.filter((w) => w !== 'all' && !(ROLE_NAMES as readonly string[]).includes(w));
  if (unknown.length || (!all && words.includes('all'))) {
    throw new ConfigError(`Invalid configuration: OPENMCP_ROLES=${JSON.stringify(spec)}: expected all or a comma list of ${ROLE_NAMES.join(', ')}`, {
      variable: 'OPENMCP_ROLES',
    });
  }
  const roles = { all } as Roles;
  for (const r of ROLE_NAMES) roles[r] = all || words.includes(r);
  return roles;
}
