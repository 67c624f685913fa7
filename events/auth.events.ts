import { z } from 'zod';
import { defineEvent } from './catalog';

const role = z.enum(['admin', 'operator', 'agent', 'auditor', 'viewer']);

export const ApiKeyCreated = defineEvent(
  'ApiKeyCreated',
  1,
  z.strictObject({
    keyId: z.uuid(),
    role,
    name: z.string().min(1).max(100).optional(),
    crossTenant: z.boolean(),
    /** The first characters of the key, so a person can match it; never the key or its hash. */
    prefix: z.string().min(4).max(16),
  }),
  'An API key was issued for the event tenant. The key itself is shown once and never recorded.',
);

export const ApiKeyRevoked = defineEvent(
  'ApiKeyRevoked',
  1,
  z.strictObject({ keyId: z.uuid() }),
  'An API key was revoked; requests with it are refused from now on.',
);

export const authEvents = [ApiKeyCreated, ApiKeyRevoked];
