import { parseStream, type RecordedEvent } from '../src/core/envelope';
import type { DocumentProjection } from './projection';
import type { TaskStatus } from '../events/task.events';
import { alreadyApplied } from './stream-revision';
import type { SealedAnswer } from '../src/core/sealed-answer';
import type { SealedPayload } from '../src/erasure/sealed-payload';
import type { PayloadHashScheme } from '../src/erasure/salted-hash';

/** A task's status in the read models (a task that exists has had its first event). */
export type { TaskStatus };

/** A step given at submission: its arguments in clear, or (TaskSubmitted v3) sealed with their hash. */
export type TaskStepDoc = { tool: string; arguments?: Record<string, unknown>; argumentsHash?: string; argumentsSealed?: SealedPayload };

/** A task as the `rm_tasks` row holds it. `steps` is present only on a document created in memory. */
export type TaskDoc = {
  id: string;
  tenant: string;
  status: TaskStatus;
  instruction?: string;
  /** TaskSubmitted v3 (MCP_PAYLOAD_POLICY=encrypted): the instruction sealed, opened per request (openTaskView). */
  instructionSealed?: SealedPayload;
  instructionHash?: string;
  /** TaskSubmitted v4: the scheme of instructionHash, shown with it whether or not the key still opens the salt. */
  instructionHashScheme?: PayloadHashScheme;
  agentId?: string;
  chainId?: number;
  steps?: TaskStepDoc[];
  output?: unknown;
  outputHash?: string;
  /** TaskCompleted v2: the answer sealed to the task's answerRecipient (ciphertext only). */
  sealedAnswer?: SealedAnswer;
  error?: { code: string; message: string };
  createdAt: string;
  updatedAt: string;
  revision: number;
  position: number;
};

const TYPES = new Set(['TaskSubmitted', 'TaskStarted', 'TaskCompleted', 'TaskFailed', 'TaskCancelled']);

type D = Record<string, unknown>;

function advance(doc: TaskDoc, e: RecordedEvent, patch: Partial<TaskDoc>): TaskDoc {
  return { ...doc, ...patch, updatedAt: e.occurredAt, revision: e.revision, position: e.position };
}

/** The task list and task detail read model, one document per `task-<id>` stream. */
export const tasksProjection: DocumentProjection<TaskDoc> = {
  name: 'tasks',
  canHandle: (e) => TYPES.has(e.type) && e.stream.startsWith('task-'),
  documentId: (e) => parseStream(e.stream).id,
  evolve(current, e) {
    if (alreadyApplied(current, e)) return current;
    const d = e.data as D;
    if (e.type === 'TaskSubmitted') {
      if (current) return current;
      return {
        id: parseStream(e.stream).id,
        tenant: e.tenant,
        status: 'submitted',
        instruction: d.instruction as string | undefined,
        instructionSealed: d.instructionSealed as SealedPayload | undefined,
        instructionHash: d.instructionHash as string | undefined,
        instructionHashScheme: d.instructionHashScheme as PayloadHashScheme | undefined,
        agentId: d.agentId as string | undefined,
        chainId: d.chainId as number | undefined,
        steps: (d.steps as TaskStepDoc[] | undefined)?.map((s) => ('argumentsSealed' in s ? { tool: s.tool, argumentsHash: s.argumentsHash, argumentsSealed: s.argumentsSealed } : { tool: s.tool, arguments: s.arguments })) ?? [],
        createdAt: e.occurredAt,
        updatedAt: e.occurredAt,
        revision: e.revision,
        position: e.position,
      };
    }
    if (!current) return undefined;
    switch (e.type) {
      case 'TaskStarted':
        return advance(current, e, { status: 'running' });
      case 'TaskCompleted':
        return advance(current, e, { status: 'completed', output: d.output, outputHash: d.outputHash as string | undefined, sealedAnswer: d.sealedAnswer as SealedAnswer | undefined });
      case 'TaskFailed':
        return advance(current, e, { status: 'failed', error: d.error as TaskDoc['error'] });
      case 'TaskCancelled':
        return advance(current, e, { status: 'cancelled' });
      default:
        return current;
    }
  },
};
