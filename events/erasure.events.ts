import { z } from 'zod';
import { defineEvent, type Upcaster } from './catalog';
import { ToolCallCompleted, ToolCallFailed, ToolCallRequested } from './mcp.events';
import { TaskFailed, TaskStepSchema, taskSubmittedV2Fields } from './task.events';
import { inferenceV2Schema, ResponseRedactedSchema, TaskStepCompleted, TaskStepFailed, TaskStepStarted, usageMaybeEstimated } from './agent.events';
import { digest } from './digest-fields';
import { PAYLOAD_HASH_SCHEME } from '../src/erasure/salted-hash';

/**
 * A payload encrypted under its subject's data key (MCP_PAYLOAD_POLICY=encrypted; src/erasure):
 * AES-256-GCM over the payload's canonical JSON, with `toolcall-<callId>/<arguments|result>` as
 * additional data; `kid` names the key, `alg` is the envelope's version. Binary fields 0x hex.
 */
export const SealedPayloadSchema = z.strictObject({
  alg: z.literal('A256GCM'),
  kid: z.uuid(),
  iv: z.string().regex(/^0x[0-9a-f]{24}$/),
  // 256 KiB of JSON text (MAX_STORED_PAYLOAD_CHARS) is at most 768 KiB of UTF-8: twice that in hex.
  ct: z.string().regex(/^0x(?:[0-9a-f]{2})*$/).max(2 + 2 * 3 * 256 * 1024),
  tag: z.string().regex(/^0x[0-9a-f]{32}$/),
});

export const ToolCallRequestedV2 = defineEvent(
  'ToolCallRequested',
  2,
  ToolCallRequested.schema.extend({
    payloadPolicy: z.enum(['store', 'hash-only', 'encrypted']),
    argumentsSealed: SealedPayloadSchema.optional(),
  }),
  'A tools/call is about to be forwarded upstream. Appended before forwarding; no event, no call. v2 adds ' +
    '`payloadPolicy: "encrypted"` and `argumentsSealed`, the arguments encrypted under the data key of the call\'s ' +
    'subject (tenant and actor); `argumentsHash` is still the SHA-256 of the plaintext canonical JSON. v2 is written ' +
    'only under MCP_PAYLOAD_POLICY=encrypted, v1 otherwise, and a v1 event reads as v2 as it is.',
);

export const ToolCallCompletedV2 = defineEvent(
  'ToolCallCompleted',
  2,
  ToolCallCompleted.schema.extend({ resultSealed: SealedPayloadSchema.optional() }),
  'The upstream answered the call (possibly with a tool-level error result). v2 adds `resultSealed`, the result ' +
    "encrypted under the data key of the call's subject; `resultHash` is still the SHA-256 of the plaintext canonical " +
    'JSON. v2 is written only under MCP_PAYLOAD_POLICY=encrypted, v1 otherwise, and a v1 event reads as v2 as it is.',
);

/** The scheme of a salted payload hash (src/erasure/salted-hash.ts): HMAC-SHA256 keyed by a salt kept inside the sealed payload. */
export const PayloadHashSchemeSchema = z.literal(PAYLOAD_HASH_SCHEME).describe(
  'HMAC-SHA256, keyed by a random 32-byte salt kept only inside the sealed payload (its plaintext is the salt as 0x and 64 lowercase hex, then the payload\'s RFC 8785 canonical JSON; additional data the place, "#", and this scheme), over the UTF-8 of that canonical JSON',
);

export const ToolCallRequestedV3 = defineEvent(
  'ToolCallRequested',
  3,
  // v2's fields and a scheme: a v1 or v2 event reads as v3 as it is, so v3's schema takes what they hold.
  ToolCallRequestedV2.schema
    .extend({ argumentsHash: digest.saltedArgumentsHash, argumentsHashScheme: PayloadHashSchemeSchema.optional() })
    .refine((d) => d.argumentsHashScheme === undefined || (d.argumentsSealed !== undefined && d.payloadPolicy === 'encrypted' && d.argumentsJson === undefined), {
      message: 'a salted argumentsHash comes with argumentsSealed under payloadPolicy "encrypted", never with argumentsJson',
      path: ['argumentsHashScheme'],
    }),
  'A tools/call is about to be forwarded upstream. Appended before forwarding; no event, no call. v3 (MCP_PAYLOAD_POLICY=encrypted) ' +
    'makes `argumentsHash` a salted hash, named by `argumentsHashScheme: "hmac-sha256-salted-v1"`: HMAC-SHA256 keyed by a random salt ' +
    "kept only inside `argumentsSealed`, over the arguments' canonical JSON, so that once the subject's key is erased nothing confirms " +
    'a guess of the arguments (v2 kept their plain SHA-256); whoever opens the payload has the salt and recomputes it. The sealed ' +
    'plaintext is the salt (0x and 64 hex) then the canonical JSON, with `toolcall-<id>/arguments#hmac-sha256-salted-v1` as additional ' +
    'data. v3 is written for arguments sealed under MCP_PAYLOAD_POLICY=encrypted; v4 under it for arguments kept by hash only (over ' +
    '256 KiB, or a model\'s under LLM_REDACTION=hash-only: v2 before v4, with their plain SHA-256), v1 otherwise; a v2 event reads as ' +
    'v3 as it is (its hash the plain SHA-256, no argumentsHashScheme).',
);

export const ToolCallCompletedV3 = defineEvent(
  'ToolCallCompleted',
  3,
  ToolCallCompletedV2.schema
    .extend({ resultHash: digest.saltedResultHash, resultHashScheme: PayloadHashSchemeSchema.optional() })
    .refine((d) => d.resultHashScheme === undefined || (d.resultSealed !== undefined && d.resultJson === undefined), {
      message: 'a salted resultHash comes with resultSealed, never with resultJson',
      path: ['resultHashScheme'],
    }),
  'The upstream answered the call (possibly with a tool-level error result). v3 (MCP_PAYLOAD_POLICY=encrypted) makes `resultHash` a ' +
    'salted hash, named by `resultHashScheme: "hmac-sha256-salted-v1"`: HMAC-SHA256 keyed by a random salt kept only inside ' +
    "`resultSealed`, over the result's canonical JSON (additional data `toolcall-<id>/result#hmac-sha256-salted-v1`), so that once the " +
    "subject's key is erased nothing confirms a guess of the result. v3 is written for a result sealed, v4 for one over 256 KiB (v1 " +
    'before v4), v1 when not encrypted; a v1 or v2 event reads as v3 as it is (its hash the plain SHA-256, no resultHashScheme).',
);

/**
 * The salt of a payload kept by hash only, sealed alone under the subject's key (src/erasure/sealed-payload.ts
 * sealSaltOnly): the plaintext is the salt as 0x and 64 lowercase hex (66 bytes, so 132 hex digits of
 * ciphertext), the additional data the place, "/salt#", and the scheme.
 */
export const SealedSaltSchema = SealedPayloadSchema.extend({ ct: z.string().regex(/^0x[0-9a-f]{132}$/) }).describe(
  'The salt alone, sealed as a payload is (AES-256-GCM under the subject\'s data key kid): plaintext the salt as 0x and 64 lowercase hex, additional data the place it salts (`toolcall-<id>/<arguments|result|error>`; a model turn\'s `task-<id>/turn-<n>/response` and `task-<id>/turn-<n>/prompt`; a task step\'s or a task\'s withheld error, `task-<id>/steps/<stepId>/error`, `task-<id>/error`) then `/salt#hmac-sha256-salted-v1`',
);

export const ToolCallRequestedV4 = defineEvent(
  'ToolCallRequested',
  4,
  // v3's fields and the salt sealed alone: a v1, v2 or v3 event reads as v4 as it is.
  ToolCallRequestedV2.schema
    .extend({ argumentsHash: digest.saltedArgumentsHash, argumentsHashScheme: PayloadHashSchemeSchema.optional(), argumentsSaltSealed: SealedSaltSchema.optional() })
    .refine((d) => d.argumentsSaltSealed === undefined || (d.argumentsHashScheme !== undefined && d.argumentsSealed === undefined), {
      message: 'a salt sealed alone comes with argumentsHashScheme, in place of argumentsSealed',
      path: ['argumentsSaltSealed'],
    })
    .refine((d) => d.argumentsHashScheme === undefined || ((d.argumentsSealed !== undefined || d.argumentsSaltSealed !== undefined) && d.payloadPolicy === 'encrypted' && d.argumentsJson === undefined), {
      message: 'a salted argumentsHash comes with argumentsSealed or argumentsSaltSealed under payloadPolicy "encrypted", never with argumentsJson',
      path: ['argumentsHashScheme'],
    }),
  'A tools/call is about to be forwarded upstream. Appended before forwarding; no event, no call. v4 (MCP_PAYLOAD_POLICY=encrypted) ' +
    'salts the hash of arguments kept by hash only (over 256 KiB, or a model\'s under LLM_REDACTION=hash-only) as v3 salts those it ' +
    'seals: `argumentsHash` is HMAC-SHA256 keyed by a random salt, named by `argumentsHashScheme: "hmac-sha256-salted-v1"`, and the salt ' +
    "alone is sealed under the subject's key in `argumentsSaltSealed` (plaintext the salt, 0x and 64 hex; additional data " +
    '`toolcall-<id>/arguments/salt#hmac-sha256-salted-v1`), the arguments themselves kept nowhere; so once the key is erased nothing ' +
    'confirms a guess of them (v2 kept their plain SHA-256). v4 is written only for such arguments, v3, v2 or v1 otherwise; a v1, v2 or ' +
    'v3 event reads as v4 as it is.',
);

export const ToolCallCompletedV4 = defineEvent(
  'ToolCallCompleted',
  4,
  ToolCallCompletedV2.schema
    .extend({ resultHash: digest.saltedResultHash, resultHashScheme: PayloadHashSchemeSchema.optional(), resultSaltSealed: SealedSaltSchema.optional() })
    .refine((d) => d.resultSaltSealed === undefined || (d.resultHashScheme !== undefined && d.resultSealed === undefined), {
      message: 'a salt sealed alone comes with resultHashScheme, in place of resultSealed',
      path: ['resultSaltSealed'],
    })
    .refine((d) => d.resultHashScheme === undefined || ((d.resultSealed !== undefined || d.resultSaltSealed !== undefined) && d.resultJson === undefined), {
      message: 'a salted resultHash comes with resultSealed or resultSaltSealed, never with resultJson',
      path: ['resultHashScheme'],
    }),
  'The upstream answered the call (possibly with a tool-level error result). v4 (MCP_PAYLOAD_POLICY=encrypted) salts the hash of a ' +
    'result over 256 KiB, kept by hash only, as v3 salts one it seals: `resultHash` is HMAC-SHA256 keyed by a random salt, named by ' +
    "`resultHashScheme: \"hmac-sha256-salted-v1\"`, the salt alone sealed under the subject's key in `resultSaltSealed` (additional data " +
    '`toolcall-<id>/result/salt#hmac-sha256-salted-v1`), the result kept nowhere; so once the key is erased nothing confirms a guess of it ' +
    '(v1 kept its plain SHA-256). v4 is written only for such a result, v3 or v1 otherwise; a v1, v2 or v3 event reads as v4 as it is.',
);

export const ToolCallFailedV2 = defineEvent(
  'ToolCallFailed',
  2,
  ToolCallFailed.schema.extend({ errorSaltSealed: SealedSaltSchema.optional() }),
  'The call got no answer: protocol error from upstream, timeout, open circuit, a lost connection, or the client cancelled it ' +
    '(MCP_CALL_CANCELLED). v2 (MCP_PAYLOAD_POLICY=encrypted) salts the digest `error.message` keeps of the message it withholds: it ' +
    'ends `, hmac-sha256-salted-v1 <hash>` in place of `, sha256 <hash>`, the hash HMAC-SHA256 keyed by a random salt over the ' +
    "message's canonical JSON (a JSON string), and `errorSaltSealed` is that salt alone sealed under the subject's key (plaintext the " +
    'salt, 0x and 64 hex; additional data `toolcall-<id>/error/salt#hmac-sha256-salted-v1`), so that once the key is erased nothing ' +
    'confirms a guess of the message (v1 kept its plain SHA-256). v2 is written only for such a failure, v1 otherwise; a v1 event ' +
    'reads as v2 as it is.',
);

export const SubjectKeyErased = defineEvent(
  'SubjectKeyErased',
  1,
  z.strictObject({ kid: z.uuid() }),
  "A data subject's key was deleted (DELETE /v1/subjects/:subject/key): every payload sealed with `kid` can no " +
    'longer be read, while its events, hashes and proofs stay as they were. On stream `subject-<kid>`, its tenant the ' +
    "subject's, its actor the admin who erased it; it names no subject, so it keeps no personal data.",
);

/** An explicit step whose arguments are sealed (TaskSubmitted v3): `argumentsHash` is the SHA-256 of their plaintext canonical JSON. */
export const SealedTaskStepSchema = z.strictObject({
  tool: TaskStepSchema.shape.tool,
  argumentsHash: digest.argumentsHash,
  argumentsSealed: SealedPayloadSchema,
});

const hasInput = (d: { instruction?: unknown; instructionSealed?: unknown }) => d.instruction !== undefined || d.instructionSealed !== undefined;

export const TaskSubmittedV3 = defineEvent(
  'TaskSubmitted',
  3,
  z
    .strictObject({
      ...taskSubmittedV2Fields,
      instructionHash: digest.instructionHash.optional(),
      instructionSealed: SealedPayloadSchema.optional(),
      steps: z.array(z.union([TaskStepSchema, SealedTaskStepSchema])).min(1).max(100).optional(),
    })
    .refine((d) => hasInput(d) || d.steps !== undefined, { message: 'a task needs an instruction or steps', path: ['instruction'] })
    .refine((d) => d.instruction === undefined || d.instructionSealed === undefined, { message: 'an instruction is kept in clear or sealed, not both', path: ['instructionSealed'] })
    .refine((d) => (d.instructionSealed === undefined) === (d.instructionHash === undefined), { message: 'a sealed instruction comes with its instructionHash', path: ['instructionHash'] })
    .refine((d) => d.answerRecipient === undefined || hasInput(d), { message: 'only a task with an instruction has an answer to seal', path: ['answerRecipient'] }),
  'A task was accepted. v3 (MCP_PAYLOAD_POLICY=encrypted) keeps the client\'s input sealed under the data key of the ' +
    'submitting subject (tenant and actor): `instructionSealed` in place of `instruction`, with `instructionHash` the SHA-256 ' +
    'of the instruction\'s canonical JSON (a JSON string), and each explicit step as `{tool, argumentsHash, argumentsSealed}` ' +
    'in place of `{tool, arguments}`; additional data `task-<id>/instruction` and `task-<id>/steps/<index>/arguments`. ' +
    'v3 is written only for such a task, v1 or v2 otherwise, and a v1 or v2 event reads as v3 as it is.',
);

/** An explicit step whose arguments are sealed with their salt (TaskSubmitted v4): `argumentsHash` is their salted hash. */
export const SaltedTaskStepSchema = z.strictObject({
  tool: TaskStepSchema.shape.tool,
  argumentsHash: digest.saltedArgumentsHash,
  // Optional: a v3 sealed step (its hash the plain SHA-256) reads as v4 as it is.
  argumentsHashScheme: PayloadHashSchemeSchema.optional(),
  argumentsSealed: SealedPayloadSchema,
});

export const TaskSubmittedV4 = defineEvent(
  'TaskSubmitted',
  4,
  z
    .strictObject({
      ...taskSubmittedV2Fields,
      instructionHash: digest.saltedInstructionHash.optional(),
      instructionHashScheme: PayloadHashSchemeSchema.optional(),
      instructionSealed: SealedPayloadSchema.optional(),
      steps: z.array(z.union([TaskStepSchema, SaltedTaskStepSchema])).min(1).max(100).optional(),
    })
    .refine((d) => hasInput(d) || d.steps !== undefined, { message: 'a task needs an instruction or steps', path: ['instruction'] })
    .refine((d) => d.instruction === undefined || d.instructionSealed === undefined, { message: 'an instruction is kept in clear or sealed, not both', path: ['instructionSealed'] })
    .refine((d) => (d.instructionSealed === undefined) === (d.instructionHash === undefined), { message: 'a sealed instruction comes with its instructionHash', path: ['instructionHash'] })
    // No scheme on a sealed instruction is a v3 one read as v4 (its hash the plain SHA-256); a scheme needs the sealed instruction.
    .refine((d) => d.instructionHashScheme === undefined || d.instructionSealed !== undefined, { message: 'a salted instructionHash comes with instructionSealed', path: ['instructionHashScheme'] })
    .refine((d) => d.answerRecipient === undefined || hasInput(d), { message: 'only a task with an instruction has an answer to seal', path: ['answerRecipient'] }),
  'A task was accepted. v4 (MCP_PAYLOAD_POLICY=encrypted) is v3 whose hashes of the sealed input are salted: `instructionHash` beside ' +
    '`instructionHashScheme: "hmac-sha256-salted-v1"`, and each sealed step `{tool, argumentsHash, argumentsHashScheme, argumentsSealed}`, ' +
    'each hash HMAC-SHA256 keyed by a random salt kept only inside its sealed payload (the plaintext is the salt, 0x and 64 hex, then the ' +
    'canonical JSON; additional data `task-<id>/instruction#hmac-sha256-salted-v1`, `task-<id>/steps/<index>/arguments#hmac-sha256-salted-v1`), ' +
    "so that once the submitter's key is erased nothing confirms a guess of the input (v3 kept plain SHA-256 hashes). v4 is written for " +
    'every task whose input is sealed, v1 or v2 otherwise; a v3 event reads as v4 as it is (its hashes plain SHA-256, no scheme).',
);

export const TaskStepStartedV2 = defineEvent(
  'TaskStepStarted',
  2,
  TaskStepStarted.schema
    .extend({ argumentsHash: digest.saltedArgumentsHash, argumentsHashScheme: PayloadHashSchemeSchema.optional() })
    .refine((d) => d.argumentsHashScheme === undefined || d.argumentsJson === undefined, { message: 'a salted argumentsHash never comes with argumentsJson', path: ['argumentsHashScheme'] }),
  'The runtime is about to run one tool call of the task. Appended before the call. v2 (MCP_PAYLOAD_POLICY=encrypted) makes ' +
    '`argumentsHash` salted, named by `argumentsHashScheme: "hmac-sha256-salted-v1"`: the runtime gives the gateway the salt, which ' +
    "seals it inside the call's `argumentsSealed` (ToolCallRequested v3, the same hash), or alone in `argumentsSaltSealed` for arguments " +
    "kept by hash only (ToolCallRequested v4: a model's under LLM_REDACTION=hash-only, over 256 KiB), so it is erased with the " +
    "submitter's key and then confirms no guess. A step resumed after a restart is called again with another salt (its new " +
    'ToolCallRequested holds it). v2 is written for every step the gateway calls under MCP_PAYLOAD_POLICY=encrypted; v1 otherwise ' +
    '(and for the runtime\'s chain tools), and a v1 event reads as v2 as it is (its hash the plain SHA-256, no argumentsHashScheme).',
);

export const TaskStepCompletedV2 = defineEvent(
  'TaskStepCompleted',
  2,
  TaskStepCompleted.schema
    .extend({ resultHash: digest.saltedResultHash, resultHashScheme: PayloadHashSchemeSchema.optional() })
    .refine((d) => d.resultHashScheme === undefined || d.resultJson === undefined, { message: 'a salted resultHash never comes with resultJson', path: ['resultHashScheme'] }),
  'The step has its result. v2 (MCP_PAYLOAD_POLICY=encrypted) makes `resultHash` salted, named by `resultHashScheme: ' +
    '"hmac-sha256-salted-v1"`, with the salt the gateway sealed inside the call\'s `resultSealed` (ToolCallCompleted v3, the same hash; ' +
    'alone in `resultSaltSealed` for a result over 256 KiB, v4); ' +
    "the task's signed output lists it with the same `resultHashScheme`. v2 is written for a result the gateway seals, v1 otherwise, " +
    'and a v1 event reads as v2 as it is (its hash the plain SHA-256).',
);

/**
 * What a redacted turn keeps of its answer under MCP_PAYLOAD_POLICY=encrypted (InferenceCompleted v7):
 * v4's `responseRedacted` whose `hash` is salted, the salt alone sealed under the submitter's key.
 */
export const SaltedResponseRedactedSchema = ResponseRedactedSchema.extend({
  hash: digest.saltedResponseHash,
  // Optional: a v4 to v6 turn (its hash the plain SHA-256) reads as v7 as it is.
  hashScheme: PayloadHashSchemeSchema.optional(),
  hashSaltSealed: SealedSaltSchema.optional(),
}).refine((r) => (r.hashScheme === undefined) === (r.hashSaltSealed === undefined), { message: 'a salted hash comes with its salt sealed alone (hashSaltSealed), and only then', path: ['hashSaltSealed'] });

export const InferenceCompletedV7 = defineEvent(
  'InferenceCompleted',
  7,
  inferenceV2Schema(usageMaybeEstimated, SaltedResponseRedactedSchema, true, true),
  'The model answered one turn of the task. v7 (MCP_PAYLOAD_POLICY=encrypted) is v6 whose `responseRedacted.hash` is salted, named by ' +
    '`responseRedacted.hashScheme: "hmac-sha256-salted-v1"`: HMAC-SHA256 keyed by a random salt over the canonical JSON of the whole ' +
    "assistant message, the salt alone sealed under the data key of the task's submitter in `responseRedacted.hashSaltSealed` (plaintext " +
    'the salt, 0x and 64 hex; additional data `task-<id>/turn-<n>/response/salt#hmac-sha256-salted-v1`), so that once the key is erased ' +
    "this hash confirms no guess of the message: of a turn that only called tools, a guess of the calls' arguments (v4 to v6 kept its plain " +
    "SHA-256). `contentHash` stays the plain SHA-256 of the text, and `promptHash` the plain SHA-256 of the prompt, which from the next turn " +
    "on carries this message (the calls' arguments) with the tools' results. v7 is written for every turn under `LLM_REDACTION=hash-only` (a task run " +
    'hash-only) under MCP_PAYLOAD_POLICY=encrypted, v1 to v6 otherwise; a v1 to v6 event reads as v7 as it is (no hashScheme).',
);

/**
 * v8's `responseRedacted`: v7's, whose `contentHash` may be salted too, keyed by the same salt
 * (`hashSaltSealed`), for a turn that asked for tool calls (a final turn's text is the task's
 * answer, its plain SHA-256 the signed output's answerHash).
 */
export const TurnSaltedResponseRedactedSchema = ResponseRedactedSchema.extend({
  hash: digest.saltedResponseHash,
  hashScheme: PayloadHashSchemeSchema.optional(),
  hashSaltSealed: SealedSaltSchema.optional(),
  contentHash: digest.saltedContentHash,
  contentHashScheme: PayloadHashSchemeSchema.optional(),
})
  .refine((r) => (r.hashScheme === undefined) === (r.hashSaltSealed === undefined), { message: 'a salted hash comes with its salt sealed alone (hashSaltSealed), and only then', path: ['hashSaltSealed'] })
  .refine((r) => r.contentHashScheme === undefined || r.hashSaltSealed !== undefined, { message: 'a salted contentHash (contentHashScheme) is keyed by the salt in hashSaltSealed: only beside it', path: ['contentHashScheme'] });

/** v8's fields of a salted promptHash, which inferenceV2Schema's type does not name. */
const saltedPrompt = (d: object) => d as { promptHashScheme?: unknown; promptHashSaltSealed?: unknown };

export const InferenceCompletedV8 = defineEvent(
  'InferenceCompleted',
  8,
  inferenceV2Schema(usageMaybeEstimated, TurnSaltedResponseRedactedSchema, true, true, {
    promptHash: digest.saltedPromptHash,
    // Optional: a v1 to v7 turn (its promptHash the plain SHA-256) reads as v8 as it is.
    promptHashScheme: PayloadHashSchemeSchema.optional(),
    promptHashSaltSealed: SealedSaltSchema.optional(),
  })
    .refine((d) => (saltedPrompt(d).promptHashScheme === undefined) === (saltedPrompt(d).promptHashSaltSealed === undefined), { message: 'a salted promptHash comes with its salt sealed alone (promptHashSaltSealed), and only then', path: ['promptHashSaltSealed'] })
    // Salted only where the turn keeps no prompt nor answer (hash-only): a turn that keeps its messages or its answer has nothing a salt would hide.
    .refine((d) => saltedPrompt(d).promptHashScheme === undefined || d.responseRedacted !== undefined, { message: 'a salted promptHash (promptHashScheme) only beside responseRedacted, on a hash-only turn', path: ['promptHashScheme'] }),
  'The model answered one turn of the task. v8 (MCP_PAYLOAD_POLICY=encrypted) is v7 whose `promptHash` is salted too, named by ' +
    '`promptHashScheme: "hmac-sha256-salted-v1"`: HMAC-SHA256 keyed by a random salt over the canonical JSON of {model, messages, tools, ' +
    'temperature, maxTokens} as sent to the model, the salt alone sealed under the data key of the task\'s submitter in ' +
    '`promptHashSaltSealed` (plaintext the salt, 0x and 64 hex; additional data `task-<id>/turn-<n>/prompt/salt#hmac-sha256-salted-v1`), so ' +
    "that once the key is erased this hash confirms no guess of the prompt, which carries the instruction and, from the second turn on, " +
    "the earlier turns' tool calls (their arguments) and the tools' results (v7 kept its plain SHA-256). The LLM response cache, outside " +
    'the log, is still keyed by the plain SHA-256. A turn that asked for tool calls salts its `responseRedacted.contentHash` too, ' +
    'named by `responseRedacted.contentHashScheme`, keyed by the salt of `responseRedacted.hashSaltSealed`, over the canonical JSON of ' +
    "its text (a JSON string); a final turn's stays the plain SHA-256 of the text, the task's answerHash. v8 is written for every turn v7 was (`LLM_REDACTION=hash-only` under MCP_PAYLOAD_POLICY=encrypted), v1 to v6 " +
    'otherwise; a v1 to v7 event reads as v8 as it is (no promptHashScheme).',
);

export const TaskStepFailedV2 = defineEvent(
  'TaskStepFailed',
  2,
  TaskStepFailed.schema.extend({ errorSaltSealed: SealedSaltSchema.optional() }),
  'The step got no result. v2 (MCP_PAYLOAD_POLICY=encrypted, a task run under `LLM_REDACTION=hash-only`) salts the digest `error.message` ' +
    'keeps of a text of the model it withholds (arguments that are not a JSON object: `TOOL_ARGUMENTS_INVALID`; a tool name no tool has: ' +
    '`MCP_TOOL_NOT_FOUND`): it says `withheld (LLM_REDACTION=hash-only), hmac-sha256-salted-v1 <hash>` in place of `…, sha256 <hash>`, the ' +
    "hash HMAC-SHA256 keyed by a random salt over the text's canonical JSON (a JSON string), and `errorSaltSealed` is that salt alone sealed " +
    "under the data key of the task's submitter (additional data `task-<id>/steps/<stepId>/error/salt#hmac-sha256-salted-v1`), so that once " +
    'the key is erased nothing confirms a guess of the text (v1 kept its plain SHA-256). v2 is written only for such a failure, v1 otherwise; ' +
    'a v1 event reads as v2 as it is.',
);

export const TaskFailedV2 = defineEvent(
  'TaskFailed',
  2,
  TaskFailed.schema.extend({ errorSaltSealed: SealedSaltSchema.optional() }),
  'The task stopped on an error it cannot recover from. v2 (MCP_PAYLOAD_POLICY=encrypted, a task run under `LLM_REDACTION=hash-only`) ' +
    "salts the digest `error.message` keeps of what an LLM server sent that it withholds (a body that is not JSON, the server's own error " +
    'message): it says `withheld (LLM_REDACTION=hash-only), hmac-sha256-salted-v1 <hash>` in place of `…, sha256 <hash>`, the hash ' +
    "HMAC-SHA256 keyed by a random salt over the text's canonical JSON (a JSON string), and `errorSaltSealed` is that salt alone sealed " +
    "under the data key of the task's submitter (additional data `task-<id>/error/salt#hmac-sha256-salted-v1`), so that once the key is " +
    'erased nothing confirms a guess of the text (v1 kept its plain SHA-256). v2 is written only for such a failure, v1 otherwise; a v1 ' +
    'event reads as v2 as it is.',
);

export const erasureEvents = [
  ToolCallRequestedV2,
  ToolCallCompletedV2,
  SubjectKeyErased,
  TaskSubmittedV3,
  ToolCallRequestedV3,
  ToolCallCompletedV3,
  TaskSubmittedV4,
  TaskStepStartedV2,
  TaskStepCompletedV2,
  ToolCallRequestedV4,
  ToolCallCompletedV4,
  ToolCallFailedV2,
  InferenceCompletedV7,
  TaskStepFailedV2,
  TaskFailedV2,
  InferenceCompletedV8,
];

/** ToolCallRequested and ToolCallCompleted v1 → v2: a payload stored or hashed, none sealed. */
export const erasureUpcasters: Upcaster[] = [
  { type: 'ToolCallRequested', fromVersion: 1, upcast: (data) => data },
  { type: 'ToolCallCompleted', fromVersion: 1, upcast: (data) => data },
  // TaskSubmitted v2 → v3: an input kept in clear, none sealed.
  { type: 'TaskSubmitted', fromVersion: 2, upcast: (data) => data },
  // v2 → v3 (tool calls) and v3 → v4 (tasks): hashes of the plain SHA-256 (no …HashScheme), as they were.
  { type: 'ToolCallRequested', fromVersion: 2, upcast: (data) => data },
  { type: 'ToolCallCompleted', fromVersion: 2, upcast: (data) => data },
  { type: 'TaskSubmitted', fromVersion: 3, upcast: (data) => data },
  { type: 'TaskStepStarted', fromVersion: 1, upcast: (data) => data },
  { type: 'TaskStepCompleted', fromVersion: 1, upcast: (data) => data },
  // v3 → v4 (tool calls): a payload sealed whole, or kept by its plain SHA-256, as it was (no salt sealed alone).
  { type: 'ToolCallRequested', fromVersion: 3, upcast: (data) => data },
  { type: 'ToolCallCompleted', fromVersion: 3, upcast: (data) => data },
  // ToolCallFailed v1 → v2: a digest of the plain SHA-256 (or none), no salt sealed.
  { type: 'ToolCallFailed', fromVersion: 1, upcast: (data) => data },
  // InferenceCompleted v6 → v7: a turn's hash of the plain SHA-256 (no hashScheme), as it was.
  { type: 'InferenceCompleted', fromVersion: 6, upcast: (data) => data },
  // InferenceCompleted v7 → v8: a turn's promptHash of the plain SHA-256 (no promptHashScheme), as it was.
  { type: 'InferenceCompleted', fromVersion: 7, upcast: (data) => data },
  // TaskStepFailed v1 → v2: a withheld text's digest of the plain SHA-256 (or one the gateway's ToolCallFailed v2 salted), no salt sealed here.
  { type: 'TaskStepFailed', fromVersion: 1, upcast: (data) => data },
  // TaskFailed v1 → v2: a withheld text's digest of the plain SHA-256 (or none), no salt sealed.
  { type: 'TaskFailed', fromVersion: 1, upcast: (data) => data },
];
