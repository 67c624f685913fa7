import { z } from 'zod';

/** Tenant names: short, URL- and key-safe, so they can appear in cache keys and metrics labels. */
export const TenantSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, . _ - (max 100)');

/** The tenant of the bootstrap admin key, and of a newcomer's first task. */
export const DEFAULT_TENANT = 'default';

/**
 * Tenants no key or token may belong to: `system` holds the gateway's own events (the sealer's
 * and anchorer's batches, AUDIT_TENANT), which a principal of it would read as its own. Compared
 * without case, so that `System` cannot pass for it on an admin's screen.
 */
export const RESERVED_TENANTS: readonly string[] = ['system'];

export function isReservedTenant(tenant: string): boolean {
  return RESERVED_TENANTS.includes(tenant.toLowerCase());
}

export const reservedTenantMessage = (tenant: string) => `tenant ${tenant} is reserved for the gateway's own events; choose another tenant`;

/** The tenant of a new key: a tenant name that is not reserved. */
export const KeyTenantSchema = TenantSchema.refine((t) => !isReservedTenant(t), { error: (issue) => reservedTenantMessage(String(issue.input)) });
