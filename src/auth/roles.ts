/** Roles a key or token carries. Every principal has exactly one. */
export const ROLES = ['admin', 'operator', 'agent', 'auditor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'tasks:read',
  'tasks:write',
  'tasks:approve',
  'events:read',
  'proofs:read',
  'batches:export',
  'mcp:read',
  'mcp:write',
  'mcp:call',
  'keys:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * The permission matrix (docs/security.md renders it). Tenant scope is checked separately:
 * a permission never reaches outside the principal's tenant unless the principal is cross-tenant.
 */
export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(PERMISSIONS),
  operator: new Set<Permission>(['tasks:read', 'tasks:write', 'tasks:approve', 'events:read', 'proofs:read', 'mcp:read', 'mcp:write', 'mcp:call']),
  agent: new Set<Permission>(['tasks:read', 'tasks:write', 'mcp:read', 'mcp:call']),
  auditor: new Set<Permission>(['tasks:read', 'events:read', 'proofs:read', 'batches:export', 'mcp:read']),
  viewer: new Set<Permission>(['tasks:read', 'mcp:read']),
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * Why a role is refused, naming the roles that have the permission (the key to ask for).
 * @example lacksPermission('viewer', 'tasks:approve') // 'role viewer lacks tasks:approve (roles with it: admin, operator)'
 */
export function lacksPermission(role: Role, permission: Permission): string {
  return `role ${role} lacks ${permission} (roles with it: ${ROLES.filter((r) => can(r, permission)).join(', ')})`;
}
