import { z } from 'zod';
import { PAYLOAD_HASH_SCHEME } from '../../erasure/salted-hash';
import { AgentIdSchema } from '../../../events/auth.events';
import { TASK_STATUSES, TaskStepSchema } from '../../../events/task.events';
import { recipientPublicKey } from '../../core/sealed-answer';
import { Cursor, ErrorInfo, FROM_NOT_AFTER_TO, Hex32, IsoTime, JsonObject, Limit, page, Timestamp } from './common';

export const TaskStatus = z.enum(TASK_STATUSES);

/**
 * The client's secp256k1 public key its answer is sealed to under LLM_REDACTION=hash-only (SEC 1
 * hex, compressed or not, either case); recorded compressed in lowercase (TaskSubmitted v2).
 */
const AnswerRecipient = z
  .string()
  .max(200)
  .transform((v, ctx) => {
    try {
      return recipientPublicKey(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  })
  .describe('secp256k1 public key (0x02/0x03 + 64 hex, or 0x04 + 128 hex) the final answer is sealed to under LLM_REDACTION=hash-only (docs/agent.md "Sealed answers")');

export const SubmitTaskBody = z
  .strictObject({
    instruction: z.string().min(1).max(20000).optional(),
    steps: z.array(TaskStepSchema).min(1).max(100).optional(),
    agentId: AgentIdSchema.optional(),
    chainId: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    answerRecipient: AnswerRecipient.optional(),
  })
  .refine((b) => b.instruction !== undefined || b.steps !== undefined, {
    message: 'a task needs an instruction or steps',
    path: ['instruction'],
  })
  .refine((b) => b.answerRecipient === undefined || b.instruction !== undefined, {
    message: 'only a task with an instruction has an answer to seal',
    path: ['answerRecipient'],
  })
  .superRefine((b, ctx) => {
    // The steps are hashed into TaskSubmitted, whose numbers must be safe integers: said here, the
    // 400 names the field (body.steps.0.arguments.x); found while hashing, it named "$.data.steps[0]…".
    for (const [i, step] of (b.steps ?? []).entries()) {
      const at = unsafeNumberIn(step.arguments);
      if (at) ctx.addIssue({ code: 'custom', path: ['steps', i, 'arguments', ...at.path], message: `numbers must be safe integers (use a string for ${at.value})` });
    }
  });

/** The path of the first number in `v` that is not a safe integer (a float, NaN, ±Infinity, beyond 2^53), if any. */
function unsafeNumberIn(v: unknown, path: (string | number)[] = []): { path: (string | number)[]; value: number } | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? undefined : { path, value: v };
  if (v === null || typeof v !== 'object') return undefined;
  for (const [k, x] of Object.entries(v)) {
    const found = unsafeNumberIn(x, [...path, Array.isArray(v) ? Number(k) : k]);
    if (found) return found;
  }
  return undefined;
}
export type SubmitTaskInput = z.input<typeof SubmitTaskBody>;

export const SubmitTaskResponse = z.object({ id: z.uuid(), status: TaskStatus });

/** A transaction the policy held for a human (docs/policy.md, "Approvals"): what to approve, why, since when. */
const StepApprovalView = z.object({
  proposalHash: Hex32.describe('What POST /v1/tasks/:id/approvals takes: {"proposalHash": this, "decision": "approve" | "reject"}'),
  rule: z.string().describe('The policy rule that held it, e.g. method.approvalAbove'),
  reason: z.string().optional().describe("The policy's reason (its PolicyEvaluated event)"),
  requestedAt: Timestamp.describe('When it was asked (ApprovalRequested), or asked again (a release reopened by a raised requirement)'),
  approvals: z.object({ required: z.number().int(), given: z.number().int(), selfApproval: z.boolean() }).optional()
    .describe("Shown for a proposal that needs several approvers, or not the task's submitter (four-eyes): distinct approvers needed and given so far"),
});

export const TaskStepView = z.object({
  index: z.number().int(),
  tool: z.string(),
  arguments: JsonObject.optional(),
  argumentsErased: z.literal(true).optional().describe("The arguments were given sealed (MCP_PAYLOAD_POLICY=encrypted) and the submitter's key has been erased"),
  argumentsHashScheme: z.literal(PAYLOAD_HASH_SCHEME).optional().describe("Shown with arguments opened from a payload sealed with its salt (TaskSubmitted v4): the step's argumentsHash in TaskSubmitted (steps[index]) is HMAC-SHA256 keyed by argumentsSalt over the JCS text of arguments (the call's own salt is in GET /v1/tool-calls/:id)"),
  argumentsSalt: Hex32.optional().describe('The salt that hash is keyed by, read from the sealed payload (gone with its key)'),
  status: z.enum(['pending', 'running', 'completed', 'failed']),
  toolCallId: z.string().optional().describe("The gateway's call made for this step (GET /v1/tool-calls/:id): the last one naming the step (ToolCallRequested v5 stepId; a step resumed after a crash may make two); for calls recorded before 2026-12-11, which name none, the task's i-th call"),
  result: z.unknown().optional(),
  error: ErrorInfo.optional(),
  latencyMs: z.number().optional(),
  startedAt: Timestamp.optional(),
  completedAt: Timestamp.optional(),
  awaitingApproval: StepApprovalView.optional().describe("The step's transaction waits for a human (the step stays running)"),
});

/**
 * A sealed answer as the API shows it. Loose where the event is strict: a scheme (or a field) this
 * version does not know still parses, so an older SDK or CLI reading a newer server fails only on
 * opening it (SEALED_ANSWER_INVALID, naming the scheme), not on the whole task.
 */
const SealedAnswerView = z.looseObject({ scheme: z.string(), recipient: z.string(), ephemeralPublicKey: z.string(), nonce: z.string(), ciphertext: z.string(), tag: z.string() });

export const TaskView = z.object({
  id: z.string(),
  tenant: z.string(),
  status: TaskStatus,
  instruction: z.string().optional(),
  instructionHash: Hex32.optional().describe('The hash of the instruction\'s canonical JSON (a JSON string), when it was recorded sealed (MCP_PAYLOAD_POLICY=encrypted): its SHA-256 (TaskSubmitted v3), or HMAC-SHA256 keyed by instructionSalt (v4, instructionHashScheme)'),
  instructionHashScheme: z.literal(PAYLOAD_HASH_SCHEME).optional().describe('Shown for a salted instructionHash (TaskSubmitted v4), also after erasure: instructionHash is HMAC-SHA256 keyed by instructionSalt (docs/security.md, "Salted payload hashes")'),
  instructionSalt: Hex32.optional().describe('The salt instructionHash is keyed by, read from the sealed payload (gone with its key)'),
  instructionErased: z.literal(true).optional().describe("The instruction was recorded sealed and the submitter's key has been erased: only instructionHash remains"),
  agentId: z.string().optional(),
  chainId: z.number().optional(),
  steps: z.array(TaskStepView),
  output: z.unknown().optional(),
  outputHash: Hex32.optional(),
  /** The answer sealed to the task's answerRecipient (TaskCompleted v2); open it with the SDK's `tasks.answer` or `openmcp tasks answer`. */
  sealedAnswer: SealedAnswerView.optional(),
  error: ErrorInfo.optional(),
  awaitingApproval: z.array(StepApprovalView.extend({
    stepId: z.string(),
    stepIndex: z.number().int().optional().describe("The `index` of the step in steps[] that proposes it (not its place in the array: a model's slip, a call to no tool, takes an index and is no step)"),
    tool: z.string().optional(),
  })).optional().describe('Present while the task waits for a human: each proposal to approve or reject; gone once approved, rejected, the step ended, or the task ended (cancelled, failed — TASK_TIMEOUT too — or completed)'),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  revision: z.number().int(),
});
export type TaskViewOutput = z.infer<typeof TaskView>;

export const TaskListQuery = z.strictObject({
  status: TaskStatus.optional(),
  agentId: z.string().min(1).max(200).optional(),
  from: IsoTime.optional(),
  to: IsoTime.optional(),
  limit: Limit,
  cursor: Cursor.optional(),
}).refine(...FROM_NOT_AFTER_TO);
export type TaskListQueryInput = z.input<typeof TaskListQuery>;

export const TaskPage = page(TaskView);

export const CancelTaskBody = z.strictObject({ reason: z.string().max(2000).optional() }).nullish();

export const ApprovalBody = z.strictObject({
  proposalHash: Hex32,
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(2000).optional(),
});
export type ApprovalInput = z.infer<typeof ApprovalBody>;

export const ApprovalResponse = z.looseObject({
  taskId: z.string(),
  proposalHash: Hex32,
  decision: z.enum(['approve', 'reject']),
  /** The last event this decision appended (none for a repeat, which appends nothing). */
  eventId: z.string().optional(),
  /** approved: released (the agent goes on); rejected; pending: recorded, and more distinct approvers are needed. */
  status: z.enum(['approved', 'rejected', 'pending']).optional(),
  /** Distinct approvers so far and how many the proposal's policy asks for. */
  approvals: z.object({ given: z.number().int(), required: z.number().int() }).optional(),
});
