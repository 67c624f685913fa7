import { parseStream, type RecordedEvent } from '../src/core/envelope';
import type { DocumentProjection } from './projection';
import type { TaskStatus } from '../events/task.events';
import { alreadyApplied } from './stream-revision';
import type { SealedAnswer } from '../src/core/sealed-answer';
import type { SealedPayload } from '../src/erasure/sealed-payload';
import type { PayloadHashScheme } from '../src/erasure/salted-hash';
import { APPROVAL_EVENT_TYPES, evolveTaskApprovals, type TaskApprovalDoc } from './task-approvals';

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
  /** Transaction proposals the policy held for a human while the task runs (task-approvals.ts); none once it ends. */
  approvals?: TaskApprovalDoc[];
  createdAt: string;
  updatedAt: string;
  revision: number;
  position: number;
};

const TYPES = new Set<string>(['TaskSubmitted', 'TaskStarted', 'TaskCompleted', 'TaskFailed', 'TaskCancelled', ...APPROVAL_EVENT_TYPES]);

type D = Record<string, unknown>;

function advance(doc: TaskDoc, e: RecordedEvent, patch: Partial<TaskDoc>): TaskDoc {
  return { ...doc, ...patch, updatedAt: e.occurredAt, revision: e.revision, position: e.position };
}

/** The task's end: nothing waits for an approval any more (cancelled, failed — a TASK_TIMEOUT too — or completed). */
const ENDED: Partial<TaskDoc> = { approvals: undefined };

/**
 * The task list and task detail read model, one document per `task-<id>` stream. It also keeps
 * the proposals waiting for approval (the approval events and the step ends that settle them):
 * every event it handles advances the document's revision, even one that changes nothing shown,
 * since a reader waits for a task view of the revision of any event this projection handles
 * (SqlReadModels' cacheShows); `updatedAt` moves only with the proposals it keeps.
 */
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
        return advance(current, e, { ...ENDED, status: 'completed', output: d.output, outputHash: d.outputHash as string | undefined, sealedAnswer: d.sealedAnswer as SealedAnswer | undefined });
      case 'TaskFailed':
        return advance(current, e, { ...ENDED, status: 'failed', error: d.error as TaskDoc['error'] });
      case 'TaskCancelled':
        return advance(current, e, { ...ENDED, status: 'cancelled' });
      default: {
        const before = current.approvals ?? [];
        const after = current.status === 'submitted' || current.status === 'running' ? evolveTaskApprovals(before, e) : before;
        if (after === before) return { ...current, revision: e.revision, position: e.position };
        return advance(current, e, { approvals: after.length ? [...after] : undefined });
      }
    }
  },
};
