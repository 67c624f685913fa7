import { z } from 'zod';
import { defineEvent, type Upcaster } from './catalog';
import { SEALED_ANSWER_SCHEME } from '../src/core/sealed-answer';
import { digest } from './digest-fields';

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

const taskSubmittedV1 = {
  instruction: z.string().min(1).max(20000).optional(),
  steps: z.array(TaskStepSchema).min(1).max(100).optional(),
  agentId: z.string().min(1).max(200).optional(),
  chainId: safeInt.optional(),
};

const needsInstructionOrSteps: [(d: { instruction?: string; steps?: unknown[] }) => boolean, { message: string; path: string[] }] = [
  (d) => d.instruction !== undefined || d.steps !== undefined,
  { message: 'a task needs an instruction or steps', path: ['instruction'] },
];

export const TaskSubmitted = defineEvent(
  'TaskSubmitted',
  1,
  z.strictObject(taskSubmittedV1).refine(...needsInstructionOrSteps),
  'A task was accepted. It has a natural-language instruction, explicit tool steps, or both.',
);

/** A secp256k1 public key, compressed (33 bytes: 0x02 or 0x03 and the x-coordinate), lowercase hex. */
export const CompressedPublicKeySchema = z.string().regex(/^0x0[23][0-9a-f]{64}$/, 'a compressed secp256k1 public key: 0x02 or 0x03 and 64 lowercase hex digits');

/** TaskSubmitted v2's fields (v3, events/erasure.events.ts, adds the sealed input to them). */
export const taskSubmittedV2Fields = { ...taskSubmittedV1, answerRecipient: CompressedPublicKeySchema.optional() };

export const TaskSubmittedV2 = defineEvent(
  'TaskSubmitted',
  2,
  z
    .strictObject(taskSubmittedV2Fields)
    .refine(...needsInstructionOrSteps)
    .refine((d) => d.answerRecipient === undefined || d.instruction !== undefined, { message: 'only a task with an instruction has an answer to seal', path: ['answerRecipient'] }),
  'A task was accepted. v2 adds `answerRecipient`, the client\'s secp256k1 public key (compressed): under LLM_REDACTION=hash-only ' +
    'the final answer is recorded sealed to it (TaskCompleted v2 `sealedAnswer`). v2 is written only for a task that has one, v1 ' +
    'otherwise, and a v1 event reads as v2 without it.',
);

export const TaskStarted = defineEvent(
  'TaskStarted',
  1,
  z.strictObject({ worker: z.string().min(1).max(200).optional() }),
  'A worker took the task and began running it.',
);

const taskCompletedV1 = {
  output: z.unknown().optional(),
  outputHash: digest.outputHash.optional(),
  signer: z.string().regex(/^0x[0-9a-fA-F]{40}$/).optional(),
  signature: z.string().regex(/^0x[0-9a-f]{130}$/).optional(),
};

export const TaskCompleted = defineEvent(
  'TaskCompleted',
  1,
  z.strictObject(taskCompletedV1),
  'The task finished with an output (and, from the agent runtime, the output hash signed by its key).',
);

const hexBytes = (n: number) => z.string().regex(new RegExp(`^0x[0-9a-f]{${2 * n}}$`), `0x and ${2 * n} lowercase hex digits`);

/** A final answer encrypted to the task's answerRecipient (src/core/sealed-answer.ts; docs/agent.md "Sealed answers"). */
export const SealedAnswerSchema = z.strictObject({
  scheme: z.literal(SEALED_ANSWER_SCHEME),
  recipient: CompressedPublicKeySchema,
  ephemeralPublicKey: CompressedPublicKeySchema,
  nonce: hexBytes(12),
  ciphertext: z.string().regex(/^0x(?:[0-9a-f]{2})*$/, '0x and lowercase hex digits, two per byte'),
  tag: hexBytes(16),
});

export const TaskCompletedV2 = defineEvent(
  'TaskCompleted',
  2,
  z.strictObject({ ...taskCompletedV1, sealedAnswer: SealedAnswerSchema.optional() }),
  'The task finished with an output. v2 adds `sealedAnswer`: the final answer encrypted to the task\'s `answerRecipient` (ECIES over ' +
    'secp256k1, HKDF-SHA256, AES-256-GCM), for a task run under LLM_REDACTION=hash-only, whose output keeps only `answerHash`. v2 is ' +
    'written only for a completion that has one, v1 otherwise, and a v1 event reads as v2 without it.',
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

export const taskEvents = [TaskSubmitted, TaskSubmittedV2, TaskStarted, TaskCompleted, TaskCompletedV2, TaskFailed, TaskCancelled];

/** TaskSubmitted v1 → v2: a task without `answerRecipient`; TaskCompleted v1 → v2: a completion without `sealedAnswer`. */
export const taskUpcasters: Upcaster[] = [
  { type: 'TaskSubmitted', fromVersion: 1, upcast: (data) => data },
  { type: 'TaskCompleted', fromVersion: 1, upcast: (data) => data },
];
