import { z } from 'zod';
import { defineEvent, type Upcaster } from './catalog';
import { SealedAnswerSchema } from './task.events';
import { digest } from './digest-fields';

const safeInt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/);
const address = z.string().regex(/^0x[0-9a-f]{40}$/);
/** Wei and token amounts: decimal strings (no floats, no bigint in event data). */
const decimal = z.string().regex(/^\d{1,78}$/);
const stepId = z.string().min(1).max(200);
const error = z.strictObject({ code: z.string().min(1).max(100), message: z.string().max(4000) });

/*
 * Agent runtime evidence. Every event here lives in the task's own stream (`task-<id>`), so a
 * task's audit trail and its Merkle proofs cover the reasoning, the policy decisions, the
 * approvals and the transactions. Tool calls through the gateway are audited in their own
 * `toolcall-<id>` streams (with `taskId`); the step events below link them to the task.
 */

export const TaskStepStarted = defineEvent(
  'TaskStepStarted',
  1,
  z.strictObject({
    stepId,
    /** 0-based order of the step in the task. */
    index: safeInt,
    tool: z.string().min(1).max(200),
    argumentsHash: digest.argumentsHash,
    /** Canonical JSON of the arguments (JCS; floats kept as text). */
    argumentsJson: z.string().max(1_000_000).optional(),
    /** `steps` = an explicit step of the task; `llm` = a tool call the model asked for. */
    source: z.enum(['steps', 'llm']),
    /** Whether re-running it after a crash is safe (read-only and idempotent tool). */
    idempotent: z.boolean(),
  }),
  'The runtime is about to run one tool call or contract call of the task. Appended before the call.',
);

export const TaskStepCompleted = defineEvent(
  'TaskStepCompleted',
  1,
  z.strictObject({
    stepId,
    resultHash: digest.resultHash,
    resultJson: z.string().max(1_000_000).optional(),
    isError: z.boolean(),
  }),
  'The step has its result (a tool-level error result counts as a result and goes back to the model).',
);

export const TaskStepFailed = defineEvent(
  'TaskStepFailed',
  1,
  z.strictObject({ stepId, error }),
  'The step got no result: the call failed, was refused by policy, rejected by an approver, or its outcome is unknown after a crash.',
);

/** The fields of every InferenceCompleted version before the response, then after it (v1's order, which its JSON Schema keeps). */
const inferenceFieldsBefore = {
  /** 0-based model turn within the task. */
  turn: safeInt,
  provider: z.string().min(1).max(200),
  model: z.string().min(1).max(200),
  /** SHA-256 of the canonical JSON of {model, messages, tools, temperature, maxTokens}. */
  promptHash: digest.promptHash,
  /** Canonical JSON of the messages sent; absent when the redaction policy is `hash-only`, or when they would not fit the event. */
  messagesJson: z.string().max(2_000_000).optional(),
  redaction: z.enum(['store', 'hash-only']),
};
const usageFields = { promptTokens: safeInt, completionTokens: safeInt, totalTokens: safeInt };
const inferenceFieldsAfter = {
  finishReason: z.string().max(100),
  usage: z.strictObject(usageFields),
  latencyMs: safeInt,
  cached: z.boolean(),
  /** Knowledge-base chunks added to the system prompt. */
  knowledgeChunks: z.array(z.string().max(500)).max(100),
  /** Tools offered to the model (names). */
  tools: z.array(z.string().max(200)).max(200),
};

/** The most characters of the assistant message's canonical JSON an InferenceCompleted keeps. */
export const INFERENCE_RESPONSE_JSON_MAX = 1_000_000;

export const InferenceCompleted = defineEvent(
  'InferenceCompleted',
  1,
  z.strictObject({
    ...inferenceFieldsBefore,
    /** Canonical JSON of the assistant message (content and tool calls). */
    responseJson: z.string().max(INFERENCE_RESPONSE_JSON_MAX),
    ...inferenceFieldsAfter,
  }),
  'The model answered one turn of the task.',
);

/** The most tool calls a redacted turn lists (a turn of at most INFERENCE_RESPONSE_JSON_MAX characters holds fewer). */
export const REDACTED_TOOL_CALLS_MAX = 20_000;

/** What a turn keeps of its answer under `LLM_REDACTION=hash-only` (v4): digests and the non-content parts needed to resume. */
export const ResponseRedactedSchema = z.strictObject({
  /** SHA-256 of the full canonical JSON of the assistant message (what responseJson would have held). */
  hash: hex32,
  /** Its length in characters (UTF-16 code units, as responseJson's limit counts them). */
  chars: safeInt,
  /** SHA-256 of the canonical JSON of the message's text (a JSON string; "" when it had none): the task's answerHash for a final turn. */
  contentHash: digest.contentHash,
  /**
   * The tool calls it asked for, in order: the server's call id (steps are `turn-<n>-<id>`) and the
   * tool's name when it is one of the tools offered (a name the model made up is its own words:
   * left out). Their arguments are content: only the whole message's hash covers them. Empty
   * for an answer too large to record (the task then fails LLM_RESPONSE_TOO_LARGE).
   */
  toolCalls: z.array(z.strictObject({ id: z.string().max(200), name: z.string().min(1).max(200).optional() })).max(REDACTED_TOOL_CALLS_MAX),
});

/**
 * v2's fields (and v3's, whose `usage` may say `estimated`; v4's, which may hold `responseRedacted`
 * instead): the response kept whole, or only its digest, length and head, or (v4) its digests alone.
 * `redacted` is the schema of `responseRedacted` (none before v4; v7's salts its hash: erasure.events.ts);
 * `salted` adds or replaces fields (v8's salted `promptHash`, its scheme and its salt: erasure.events.ts).
 */
export function inferenceV2Schema(usage: z.ZodType, redacted?: z.ZodType, sealed = false, unbooked = false, salted: z.ZodRawShape = {}) {
  const schema = z
    .strictObject({
      ...inferenceFieldsBefore,
      /** Canonical JSON of the assistant message (content and tool calls), when it fits. */
      responseJson: z.string().max(INFERENCE_RESPONSE_JSON_MAX).optional(),
      ...inferenceFieldsAfter,
      usage,
      /** Instead of responseJson, for an answer too large to keep: the task then fails LLM_RESPONSE_TOO_LARGE. */
      responseOmitted: z
        .strictObject({
          /** SHA-256 of the full canonical JSON of the assistant message. */
          hash: hex32,
          /** Its length in characters (UTF-16 code units, as responseJson's limit counts them). */
          chars: safeInt,
          /** Its first characters (at most 10,000; not JSON by itself). */
          head: z.string().max(10_000),
        })
        .optional(),
      ...(redacted ? { responseRedacted: redacted.optional() } : {}),
      ...(sealed ? { sealedAnswer: SealedAnswerSchema.optional() } : {}),
      /**
       * (v6) The turn's tokens were not booked in the tenant's daily token ledger when it was
       * recorded (the ledger failed): a run of the task books them later, keyed by this event's id.
       */
      ...(unbooked ? { usageUnbooked: z.literal(true).optional() } : {}),
      ...salted,
    })
    .refine((d) => [d.responseJson, d.responseOmitted, (d as { responseRedacted?: unknown }).responseRedacted].filter((x) => x !== undefined).length === 1, {
      message: redacted ? 'exactly one of responseJson, responseOmitted and responseRedacted' : 'exactly one of responseJson and responseOmitted',
      path: ['responseJson'],
    });
  if (!sealed) return schema;
  // A sealed copy is the final answer of a redacted turn that lists no tool calls: any other turn's text is not the task's answer.
  return schema.refine((d) => {
    const r = (d as { responseRedacted?: { toolCalls: unknown[] }; sealedAnswer?: unknown });
    return r.sealedAnswer === undefined || (r.responseRedacted !== undefined && r.responseRedacted.toolCalls.length === 0);
  }, { message: 'sealedAnswer only beside responseRedacted, for a final turn (no toolCalls)', path: ['sealedAnswer'] });
}

export const InferenceCompletedV2 = defineEvent(
  'InferenceCompleted',
  2,
  inferenceV2Schema(inferenceFieldsAfter.usage),
  'The model answered one turn of the task. v2 may record, instead of `responseJson`, `responseOmitted` {hash, chars, head}: an answer too large for the log (over 1,000,000 characters of canonical JSON), after which the task fails LLM_RESPONSE_TOO_LARGE. v2 is written only for such a turn, v1 otherwise, and a v1 event reads as v2 as it is.',
);

/** v3's usage: the server reported no usage, or not all of it: the missing counts are the gateway's estimate (they count against the budgets all the same). */
export const usageMaybeEstimated = z.strictObject({ ...usageFields, estimated: z.literal(true).optional() });

export const InferenceCompletedV3 = defineEvent(
  'InferenceCompleted',
  3,
  inferenceV2Schema(usageMaybeEstimated),
  'The model answered one turn of the task. v3 is v2 whose `usage` may say `estimated: true`: the LLM server reported no usage (or not all of it), and the counts it left out are the gateway\'s estimate (with the model\'s tokenizer when the gateway knows the model, else a conservative one), which the token budgets count. v3 is written only for such a turn (v1 or v2 otherwise), and a v1 or v2 event reads as v3 as it is.',
);

export const InferenceCompletedV4 = defineEvent(
  'InferenceCompleted',
  4,
  inferenceV2Schema(usageMaybeEstimated, ResponseRedactedSchema),
  'The model answered one turn of the task. v4 is v3 that may record, instead of `responseJson`, `responseRedacted` {hash, chars, contentHash, toolCalls: [{id, name?}]}: a turn under `LLM_REDACTION=hash-only`, whose answer (its text and its tool calls\' arguments) is kept out of the log, only its digests and the non-content parts a resumed run needs (the calls\' ids, and the names of offered tools) recorded. v4 is written only for such a turn (v1, v2 or v3 otherwise), and a v1, v2 or v3 event reads as v4 as it is.',
);

export const InferenceCompletedV5 = defineEvent(
  'InferenceCompleted',
  5,
  inferenceV2Schema(usageMaybeEstimated, ResponseRedactedSchema, true),
  'The model answered one turn of the task. v5 is v4 that may record, beside `responseRedacted`, `sealedAnswer` {scheme, recipient, ephemeralPublicKey, nonce, ciphertext, tag}: the final turn (no tool calls) of a task submitted with `answerRecipient`, whose answer is kept only sealed to that key (as TaskCompleted v2 `sealedAnswer`, which is the same copy), so that a run resumed after the turn was recorded completes the task with it. v5 is written only for such a turn (v1 to v4 otherwise), and a v1 to v4 event reads as v5 as it is.',
);

export const InferenceCompletedV6 = defineEvent(
  'InferenceCompleted',
  6,
  inferenceV2Schema(usageMaybeEstimated, ResponseRedactedSchema, true, true),
  'The model answered one turn of the task. v6 is v5 that may record `usageUnbooked: true`: the turn\'s tokens could not be booked in the tenant\'s daily token ledger (LLM_TOKEN_BUDGET_PER_TENANT_DAY) when it was recorded (the ledger unreachable), so the run stopped and the run that resumes the task books them, once, under this event\'s id, instead of asking the model again. v6 is written only for such a turn (v1 to v5 otherwise), and a v1 to v5 event reads as v6 as it is: its tokens were booked before it was recorded.',
);

/** The fields of PolicyEvaluated v1, which v2 keeps. */
const policyEvaluatedV1 = {
  stepId,
  subject: z.enum(['tool', 'contract-read', 'transaction']),
  tool: z.string().min(1).max(200),
  decision: z.enum(['allow', 'deny', 'require_approval']),
  /** The rule that decided, e.g. `native.maxValue` or `contracts.unknown`. */
  rule: z.string().min(1).max(200),
  reason: z.string().max(2000),
  proposalHash: digest.proposalHash.optional(),
  /** Which policy entry applied (`<tenant>/<agent>`, `*` for wildcards, `default` for the built-in one). */
  policy: z.string().max(300),
};

export const PolicyEvaluated = defineEvent(
  'PolicyEvaluated',
  1,
  z.strictObject(policyEvaluatedV1),
  'The policy engine decided a tool call or transaction. A denial is evidence too.',
);

export const PolicyEvaluatedV2 = defineEvent(
  'PolicyEvaluated',
  2,
  z.strictObject({
    ...policyEvaluatedV1,
    /** Which version of that entry: the hash of its content. Absent only in a v1 event read as v2. */
    policyHash: digest.policyHash.optional(),
  }),
  'The policy engine decided a tool call or transaction. A denial is evidence too. v2 adds `policyHash`, the hash of the content of the POLICY_FILE entry `policy` names, so a decision shows which version of the file made it (the name stays the same when the file changes); the start logs each entry\'s hash. It is written only for a decision of a POLICY_FILE entry: one of the built-in default (`policy: "default"`, fixed by the release) is still v1. A decision made again under another version (a step resumed after a restart with a changed file) is recorded again. A v1 event reads as v2 without `policyHash`.',
);

export const ApprovalRequested = defineEvent(
  'ApprovalRequested',
  1,
  z.strictObject({
    stepId,
    proposalHash: digest.proposalHash,
    /** Canonical JSON of the decoded proposal {chainId, to, method, signature, args, value, gas, stepId} (signature and stepId absent before 2026-12-05). */
    proposalJson: z.string().max(100_000),
    rule: z.string().min(1).max(200),
  }),
  'A transaction waits for a human: only an approval naming this exact proposal hash releases it.',
);

/**
 * How many distinct approvers a proposal needs, and whether the task's submitter may be one of
 * them (four-eyes: `selfApproval: false`). `requestedBy` is the actor of the task's TaskSubmitted.
 */
const approvalQuorum = z.strictObject({
  required: z.number().int().min(1).max(10),
  selfApproval: z.boolean(),
  requestedBy: z.strictObject({ kind: z.enum(['user', 'agent', 'system']), id: z.string().min(1).max(200) }),
});

export const ApprovalRequestedV2 = defineEvent(
  'ApprovalRequested',
  2,
  z.strictObject({
    stepId,
    proposalHash: digest.proposalHash,
    /** Canonical JSON of the decoded proposal {chainId, to, method, signature, args, value, gas, stepId}. */
    proposalJson: z.string().max(100_000),
    rule: z.string().min(1).max(200),
    /** Absent: one approval releases it, from anyone allowed to approve (v1's meaning). */
    approvals: approvalQuorum.optional(),
  }),
  'A transaction waits for a human: only approvals naming this exact proposal hash release it. v2 adds `approvals` {required, selfApproval, requestedBy}: the number of distinct approvers the policy asks for, and whether the task\'s submitter (requestedBy) may be one of them; it is written only for a proposal that needs more than one approver or forbids self-approval, v1 otherwise, and a v1 event reads as v2 without `approvals` (one approver, anyone).',
);

export const ApprovalGiven = defineEvent(
  'ApprovalGiven',
  1,
  z.strictObject({
    proposalHash: digest.proposalHash,
    /** The approver (the envelope's actor, repeated: distinct approvers are counted by it). */
    approver: z.strictObject({ kind: z.enum(['user', 'agent', 'system']), id: z.string().min(1).max(200) }),
    /** Distinct approvers so far, this one included, and how many the proposal needs. */
    given: z.number().int().min(1).max(10),
    required: z.number().int().min(2).max(10),
    comment: z.string().max(2000).optional(),
  }),
  'One approver approved the proposal with this hash, which needs several (ApprovalRequested v2 `approvals.required`). It does not release it: ApprovalGranted does, appended with the approval that makes `given` reach `required`.',
);

const approver = z.strictObject({ kind: z.enum(['user', 'agent', 'system']), id: z.string().min(1).max(200) });

export const ApprovalRequirementChanged = defineEvent(
  'ApprovalRequirementChanged',
  1,
  z.strictObject({
    stepId,
    proposalHash: digest.proposalHash,
    /** What releases the proposal from now on: the policy in force now (its `approvals`, `selfApproval`), `requestedBy` as in ApprovalRequested. */
    approvals: approvalQuorum,
    /** What it was recorded to need before (ApprovalRequested, or the previous change; a v1 request: 1, true). */
    previous: z.strictObject({ required: z.number().int().min(1).max(10), selfApproval: z.boolean() }),
    /** The distinct approvers whose approvals stand and count toward `approvals` (the submitter's not, under selfApproval false), oldest first. */
    approvers: z.array(approver).max(10),
    /** It had been released (ApprovalGranted) under `previous` by fewer approvers than `approvals` asks: that release no longer stands, and it waits again. */
    reopened: z.boolean(),
    /** The policy rule that holds it now, and the entry (`<tenant>/<agent>`, `default`) it is in, as PolicyEvaluated names them. */
    rule: z.string().min(1).max(200),
    policy: z.string().max(300),
  }),
  'The policy now in force asks another number of approvers (or another selfApproval) of a proposal already waiting, than was recorded: from here on `approvals` releases it, counting the `approvers` who already approved. Recorded by the agent runtime when it resumes the step or before acting on a release. A raised requirement also reopens a proposal released under the old one by too few (`reopened`: its ApprovalGranted no longer releases it; a new ApprovalGranted will). A lowered one releases nothing by itself: the next approval is checked against it.',
);

export const ApprovalGranted = defineEvent(
  'ApprovalGranted',
  1,
  z.strictObject({ proposalHash: digest.proposalHash, comment: z.string().max(2000).optional() }),
  'An approver released the proposal with this hash (and nothing else).',
);

export const ApprovalRejected = defineEvent(
  'ApprovalRejected',
  1,
  z.strictObject({ proposalHash: digest.proposalHash, comment: z.string().max(2000).optional() }),
  'An approver refused the proposal with this hash.',
);

export const TransactionSubmitted = defineEvent(
  'TransactionSubmitted',
  1,
  z.strictObject({
    stepId,
    chainId: safeInt,
    from: address,
    to: address,
    method: z.string().min(1).max(200),
    proposalHash: digest.proposalHash,
    nonce: safeInt,
    txHash: digest.txHash,
    value: decimal,
    gasLimit: decimal,
    /** The signed transaction: after a crash it is broadcast again as is, never re-signed. */
    rawTransaction: z.string().regex(/^0x[0-9a-f]*$/).max(200_000),
  }),
  'The transaction was signed with the nonce shown and is being broadcast. Appended before broadcasting.',
);

export const TransactionConfirmed = defineEvent(
  'TransactionConfirmed',
  1,
  z.strictObject({
    stepId,
    chainId: safeInt,
    txHash: digest.txHash,
    blockNumber: safeInt,
    blockHash: digest.blockHash,
    status: z.enum(['success', 'reverted']),
    gasUsed: decimal,
  }),
  'The transaction was mined (with the configured confirmations).',
);

export const TransactionRejected = defineEvent(
  'TransactionRejected',
  1,
  z.strictObject({ stepId, chainId: safeInt, txHash: digest.txHash, error }),
  'The submitted transaction with this hash was never sent: the node refused its broadcast (TX_REJECTED), or it was stopped before the broadcast (NONCE_LOCK_LOST, or the failure in `error` while booking its spend); its spend is taken back from the daily caps. (A broadcast with an unknown outcome is never recorded so.)',
);

const worker = z.string().min(1).max(200);
/** Increases by one with every acquisition (not with renewals): a fencing token per task. */
const term = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const TaskLeased = defineEvent(
  'TaskLeased',
  1,
  z.strictObject({ worker, term, leaseUntil: z.iso.datetime() }),
  'A worker holds the task until leaseUntil (acquired: a new term; renewed: the same term). Appended at the expected revision, so one worker wins; another may take over once the lease has expired.',
);

export const TaskLeaseReleased = defineEvent(
  'TaskLeaseReleased',
  1,
  z.strictObject({ worker, term }),
  'The worker handed the task back before finishing it (graceful shutdown): any worker may take it now.',
);

export const agentEvents = [
  TaskLeased,
  TaskLeaseReleased,
  TaskStepStarted,
  TaskStepCompleted,
  TaskStepFailed,
  InferenceCompleted,
  InferenceCompletedV2,
  InferenceCompletedV3,
  InferenceCompletedV4,
  InferenceCompletedV5,
  InferenceCompletedV6,
  PolicyEvaluated,
  PolicyEvaluatedV2,
  ApprovalRequested,
  ApprovalRequestedV2,
  ApprovalGiven,
  ApprovalRequirementChanged,
  ApprovalGranted,
  ApprovalRejected,
  TransactionSubmitted,
  TransactionConfirmed,
  TransactionRejected,
];

/**
 * InferenceCompleted v1 → v2: a turn whose response was kept whole (v2's responseJson).
 * InferenceCompleted v2 → v3: a turn whose usage the server counted whole (no `estimated`).
 * InferenceCompleted v3 → v4: a turn recorded whole or omitted (no `responseRedacted`).
 * InferenceCompleted v4 → v5: a turn with no sealed copy of its answer (no `sealedAnswer`).
 * InferenceCompleted v5 → v6: a turn booked before it was recorded (no `usageUnbooked`).
 * ApprovalRequested v1 → v2: a proposal one approval releases, from anyone (no `approvals`).
 * PolicyEvaluated v1 → v2: a decision recorded before policy versions (no `policyHash`).
 */
export const agentUpcasters: Upcaster[] = [
  { type: 'InferenceCompleted', fromVersion: 1, upcast: (data) => data },
  { type: 'InferenceCompleted', fromVersion: 2, upcast: (data) => data },
  { type: 'InferenceCompleted', fromVersion: 3, upcast: (data) => data },
  { type: 'InferenceCompleted', fromVersion: 4, upcast: (data) => data },
  { type: 'InferenceCompleted', fromVersion: 5, upcast: (data) => data },
  { type: 'ApprovalRequested', fromVersion: 1, upcast: (data) => data },
  { type: 'PolicyEvaluated', fromVersion: 1, upcast: (data) => data },
];
