import { z } from 'zod';
import { AgentIdsSchema } from '../../../events/auth.events';
import { ROLES } from '../../auth/roles';
import { KeyTenantSchema, TenantSchema } from '../../auth/tenant';
import { Cursor, Limit, Timestamp } from './common';

export const CreateKeyBody = z.strictObject({
  role: z.enum(ROLES),
  tenant: KeyTenantSchema,
  // Printed by `openmcp keys list` on other admins' terminals: no control characters (escape sequences).
  name: z.string().min(1).max(100).regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'no control characters').optional(),
  crossTenant: z.boolean().optional(),
  /** The agent ids the key may act as (submit tasks as, cancel and approve their tasks); absent = any agent of the tenant. */
  agents: AgentIdsSchema.optional(),
});
export type CreateKeyInput = z.infer<typeof CreateKeyBody>;

/** The whole new list, or null for a key that may act as any agent of its tenant; required, so that `{}` is not read as either. */
export const SetKeyAgentsBody = z.strictObject({
  agents: AgentIdsSchema.nullable(),
});
export type SetKeyAgentsInput = z.infer<typeof SetKeyAgentsBody>;

export const KeyView = z.object({
  id: z.string(),
  tenant: z.string(),
  role: z.enum(ROLES),
  name: z.string().optional(),
  crossTenant: z.boolean(),
  /** Absent: the key may act as any agent of its tenant. */
  agents: z.array(z.string()).optional(),
  prefix: z.string(),
  createdAt: Timestamp,
  createdBy: z.string(),
  revokedAt: Timestamp.optional(),
});
export type KeyViewOutput = z.infer<typeof KeyView>;

/** The only response that ever carries a key. */
export const CreatedKey = KeyView.extend({ key: z.string() });
export type CreatedKeyOutput = z.infer<typeof CreatedKey>;

export const KeyListQuery = z.strictObject({
  tenant: TenantSchema.optional(),
  limit: Limit,
  cursor: Cursor.optional(),
});

export const KeyPage = z.object({ items: z.array(KeyView), nextCursor: z.string().optional() });
