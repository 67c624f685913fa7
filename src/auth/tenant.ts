import { z } from 'zod';

/** Tenant names: short, URL- and key-safe, so they can appear in cache keys and metrics labels. */
export const TenantSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, . _ - (max 100)');

/** The tenant of the bootstrap admin key, and of a newcomer's first task. */
export const DEFAULT_TENANT = 'default';
