import { z } from 'zod';
import { defineEvent, type Upcaster } from './catalog';

const role = z.enum(['admin', 'operator', 'agent', 'auditor', 'viewer']);

/** An agent id as a task names it (`POST /v1/tasks {agentId}`): no `*`, which a policy entry reads as every agent. */
export const AgentIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'letters, digits, . _ : - (max 200; no *)');

/** The agent ids a key or token may act as: 1 to 100, each once. */
export const AgentIdsSchema = z
  .array(AgentIdSchema)
  .min(1, 'at least one agent id (leave agents out for a key that may act as any agent)')
  .max(100, 'at most 100 agent ids')
  .refine((ids) => new Set(ids).size === ids.length, 'each agent id once')
  // The refine is zod's own; this says the same in the JSON Schemas of events/schema/ and /docs.
  .meta({ uniqueItems: true });

const apiKeyCreatedV1 = {
  keyId: z.uuid(),
  role,
  name: z.string().min(1).max(100).optional(),
  crossTenant: z.boolean(),
  /** The first characters of the key, so a person can match it; never the key or its hash. */
  prefix: z.string().min(4).max(16),
};

export const ApiKeyCreated = defineEvent(
  'ApiKeyCreated',
  1,
  z.strictObject(apiKeyCreatedV1),
  'An API key was issued for the event tenant. The key itself is shown once and never recorded.',
);

export const ApiKeyCreatedV2 = defineEvent(
  'ApiKeyCreated',
  2,
  z.strictObject({ ...apiKeyCreatedV1, agents: AgentIdsSchema.optional() }),
  'An API key was issued for the event tenant. The key itself is shown once and never recorded. v2 adds `agents`, the agent ids ' +
    'the key may act as (submit tasks as, cancel and approve their tasks); v2 is written only for a key that has them, v1 otherwise, ' +
    'and a v1 event reads as v2 without `agents` (a key that may act as any agent of its tenant).',
);

export const ApiKeyRevoked = defineEvent(
  'ApiKeyRevoked',
  1,
  z.strictObject({ keyId: z.uuid() }),
  'An API key was revoked; requests with it are refused from now on. Revoked by an admin (the actor), or by the system ' +
    '(actor kind `system`) for a key whose ApiKeyCreated was recorded but that was never handed out (its issue failed or was ' +
    'interrupted): such a key never authenticated.',
);

export const ApiKeyAgentsChanged = defineEvent(
  'ApiKeyAgentsChanged',
  1,
  z.strictObject({ keyId: z.uuid(), agents: AgentIdsSchema.optional() }),
  'An admin (the event actor) changed the agent ids an API key may act as (submit tasks as, cancel and approve their tasks): ' +
    '`agents` is the whole new list, absent for a key that may now act as any agent of its tenant. It replaces the list of the ' +
    "key's ApiKeyCreated, or of its previous ApiKeyAgentsChanged, from this event on. Never written for a list equal to the one the key has.",
);

export const authEvents = [ApiKeyCreated, ApiKeyCreatedV2, ApiKeyAgentsChanged, ApiKeyRevoked];

/** ApiKeyCreated v1 → v2: a key without `agents`. */
export const authUpcasters: Upcaster[] = [{ type: 'ApiKeyCreated', fromVersion: 1, upcast: (data) => data }];
