import { z } from 'zod';
import { defineEvent, type Upcaster } from './catalog';
import { ToolCallRequestedV4 } from './erasure.events';

/**
 * ToolCallRequested v5: v4's fields and the agent step the call is made for (`stepId`), so that a
 * task's read model joins each step to its own call rather than to the task's i-th call.
 */
export const ToolCallRequestedV5 = defineEvent(
  'ToolCallRequested',
  5,
  // v4's fields and checks, and the step: a v1 to v4 event reads as v5 as it is (no stepId).
  ToolCallRequestedV4.schema
    .safeExtend({ stepId: z.string().min(1).max(200).optional() })
    .refine((d) => d.stepId === undefined || d.taskId !== undefined, { message: 'a stepId comes with the taskId of its task', path: ['stepId'] }),
  'A tools/call is about to be forwarded upstream. Appended before forwarding; no event, no call. v5 adds `stepId`, the agent ' +
    "runtime's step of task `taskId` the call is made for (the `stepId` of its TaskStepStarted: `step-<i>` for an explicit step, " +
    '`turn-<n>-<id>` for a tool call the model asked for, `<id>` being the id the model gave it); a step resumed after a crash may ' +
    'make more than one call, the last one is its outcome. v5 is written for every call the agent runtime makes, v1 to v4 (as ' +
    'MCP_PAYLOAD_POLICY says) for the others; a v1 to v4 event reads as v5 as it is (no stepId: join a call of an earlier release ' +
    "to its task's steps by order).",
);

export const toolCallStepEvents = [ToolCallRequestedV5];

/** ToolCallRequested v4 → v5: a call named no step (a client's, or one of an earlier release's agent). */
export const toolCallStepUpcasters: Upcaster[] = [{ type: 'ToolCallRequested', fromVersion: 4, upcast: (data) => data }];
