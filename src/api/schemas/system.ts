import { z } from 'zod';

export const Health = z.object({ status: z.literal('ok') });

export const Readiness = z.object({
  status: z.enum(['ready', 'degraded', 'not_ready']),
  dependencies: z.array(z.object({ name: z.string(), state: z.enum(['up', 'down', 'degraded']), detail: z.string().optional() })),
});
export type ReadinessOutput = z.infer<typeof Readiness>;
