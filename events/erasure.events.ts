import { z } from 'zod';
import { defineEvent, type Upcaster } from './catalog';
import { ToolCallCompleted, ToolCallRequested } from './mcp.events';
import { TaskStepSchema, taskSubmittedV2Fields } from './task.events';
import { digest } from './digest-fields';

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

export const erasureEvents = [ToolCallRequestedV2, ToolCallCompletedV2, SubjectKeyErased, TaskSubmittedV3];

/** ToolCallRequested and ToolCallCompleted v1 → v2: a payload stored or hashed, none sealed. */
export const erasureUpcasters: Upcaster[] = [
  { type: 'ToolCallRequested', fromVersion: 1, upcast: (data) => data },
  { type: 'ToolCallCompleted', fromVersion: 1, upcast: (data) => data },
  // TaskSubmitted v2 → v3: an input kept in clear, none sealed.
  { type: 'TaskSubmitted', fromVersion: 2, upcast: (data) => data },
];
