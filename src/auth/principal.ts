import type { Actor } from '../core/envelope';
import type { Role } from './roles';

/**
 * Who is calling, after authentication. `tenant` scopes every read and command.
 * `crossTenant` (the bootstrap admin, and admin/auditor keys or tokens granted it) may read the
 * whole log and manage keys of every tenant; its commands still run in its own `tenant`.
 */
export type Principal = {
  tenant: string;
  role: Role;
  actor: Actor;
  crossTenant: boolean;
  via: 'api-key' | 'jwt';
  /** Key id (API keys) or `jwt:<tenant>:<sub>` (JWT): the rate-limit identity. */
  subject: string;
  /**
   * The agent ids this principal may act as: submit tasks as (`agentId`), cancel and approve
   * their tasks (src/auth/agent-scope.ts). Absent = any agent of its tenant. From the key's
   * record, or a JWT's `agents` claim.
   */
  agents?: readonly string[];
  /** JWT: when the token stops being accepted (exp plus the clock leeway, ms since the epoch); keys do not expire. */
  expiresAt?: number;
};

/** The tenant filter for log reads: null = every tenant (cross-tenant principals only). */
export function readScope(p: Principal): string | null {
  return p.crossTenant ? null : p.tenant;
}
