import { z } from 'zod';
import { defineEvent } from './catalog';

const safeInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * The states a task's events put it in (TaskSubmitted → submitted, TaskStarted → running, …):
 * one list for the decider, the read models and the API.
 */
export const TASK_STATUSES = ['submitted', 'running', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TaskStepSchema = z.strictObject({
  tool: z.string().min(1).max(200),
  arguments: z.record(z.string(), z.unknown()).default({}),
});
export type TaskStep = z.infer<typeof TaskStepSchema>;

export const TaskErrorSchema = z.strictObject({
  code: z.string().min(1).max(100),
  message: z.string().max(4000),
});

export const TaskSubmitted = defineEvent(
  'TaskSubmitted',
  1,
  z
    .strictObject({
      instruction: z.string().min(1).max(20000).optional(),
      steps: z.array(TaskStepSchema).min(1).max(100).optional(),
      agentId: z.string().min(1).max(200).optional(),
      chainId: safeInt.optional(),
    })
    .refine((d) => d.instruction !== undefined || d.steps !== undefined, {
      message: 'a task needs an instruction or steps',
      path: ['instruction'],
    }),
  'A task was accepted. It has a natural-language instruction, explicit tool steps, or both.',
);

export const TaskStarted = defineEvent(
  'TaskStarted',
  1,
  z.strictObject({ worker: z.string().min(1).max(200).optional() }),
  'A worker took the task and began running it.',
);

export const TaskCompleted = defineEvent(
  'TaskCompleted',
  1,
  z.strictObject({
    output: z.unknown().optional(),
    outputHash: z.string().regex(/^0x[0-9a-f]{64}$/).optional(),
    signer: z.string().regex(/^0x[0-9a-fA-F]{40}$/).optional(),
    signature: z.string().regex(/^0x[0-9a-f]{130}$/).optional(),
  }),
  'The task finished with an output (and, from the agent runtime, the output hash signed by its key).',
);

export const TaskFailed = defineEvent(
  'TaskFailed',
  1,
  z.strictObject({ error: TaskErrorSchema }),
  'The task stopped on an error it cannot recover from.',
);

export const TaskCancelled = defineEvent(
  'TaskCancelled',
  1,
  z.strictObject({ reason: z.string().max(2000).optional() }),
  'Someone cancelled the task before it finished.',
);

export const taskEvents = [TaskSubmitted, TaskStarted, TaskCompleted, TaskFailed, TaskCancelled];
