import { InvalidTransitionError } from '../../core/errors';
import type { Decider, EventDraft } from '../decider';
import type { TaskStatus as TaskLifecycleStatus, TaskStep } from '../../../events/task.events';
import type { SealedAnswer } from '../../core/sealed-answer';
import type { SealedPayload } from '../../erasure/sealed-payload';
import { hasSaltedHash, isSealedStep, type RecordedTaskInput, type SealedTaskStep } from '../../erasure/task-input';

/** `none` until the task's first event. */
export type TaskStatus = 'none' | TaskLifecycleStatus;

export type TaskState = { status: TaskStatus; stepCount: number };

export type TaskCommand =
  | {
      type: 'SubmitTask';
      instruction?: string;
      steps?: (TaskStep | SealedTaskStep)[];
      agentId?: string;
      chainId?: number;
      answerRecipient?: string;
      /** MCP_PAYLOAD_POLICY=encrypted: the input sealed before deciding (sealTaskInput), in place of `instruction` and steps' arguments. */
      instructionSealed?: SealedPayload;
      instructionHash?: string;
      /** Set by sealTaskInput (TaskSubmitted v4): the hashes of the sealed input are salted. */
      instructionHashScheme?: string;
    }
  | { type: 'StartTask'; worker?: string }
  | { type: 'CompleteTask'; output?: unknown; outputHash?: string; signer?: string; signature?: string; sealedAnswer?: SealedAnswer }
  /** `errorSaltSealed`: the salt of the error's withheld digest, sealed alone (TaskFailed v2, MCP_PAYLOAD_POLICY=encrypted). */
  | { type: 'FailTask'; error: { code: string; message: string }; errorSaltSealed?: SealedPayload }
  | { type: 'CancelTask'; reason?: string };

const TERMINAL: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);

function reject(state: TaskState, command: TaskCommand): never {
  throw new InvalidTransitionError('task', state.status, command.type);
}

function omitUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function sealedInput(c: { instructionSealed?: unknown; steps?: (TaskStep | SealedTaskStep)[] }): boolean {
  return c.instructionSealed !== undefined || (c.steps ?? []).some(isSealedStep);
}

/** The version of TaskSubmitted that says what `c` holds: v4 for a sealed input with salted hashes, v3 with plain ones, v2 for a recipient, else v1. */
function submittedVersion(c: Extract<TaskCommand, { type: 'SubmitTask' }>): number {
  if (sealedInput(c)) return hasSaltedHash(c as RecordedTaskInput) ? 4 : 3;
  return c.answerRecipient !== undefined ? 2 : 1;
}

/** The task lifecycle: submitted → running → completed | failed; cancel from any open state (again: a no-op). */
export const taskDecider: Decider<TaskState, TaskCommand, EventDraft> = {
  name: 'task',
  initialState: () => ({ status: 'none', stepCount: 0 }),
  decide(command, state) {
    const { type, ...data } = command;
    switch (type) {
      case 'SubmitTask':
        if (state.status !== 'none') reject(state, command);
        // v4/v3 only for a sealed input, v2 only for a task with a recipient: consumers that know v1 keep reading every other task.
        return [{ type: 'TaskSubmitted', version: submittedVersion(command), data: omitUndefined(data) }];
      case 'StartTask':
        if (state.status !== 'submitted') reject(state, command);
        return [{ type: 'TaskStarted', data: omitUndefined(data) }];
      case 'CompleteTask':
        if (state.status !== 'running') reject(state, command);
        return [{ type: 'TaskCompleted', version: command.sealedAnswer !== undefined ? 2 : 1, data: omitUndefined(data) }];
      case 'FailTask':
        if (state.status !== 'submitted' && state.status !== 'running') reject(state, command);
        // v2 only for an error whose withheld digest keeps its salt sealed: consumers that know v1 keep reading every other failure.
        return [{ type: 'TaskFailed', version: command.errorSaltSealed !== undefined ? 2 : 1, data: omitUndefined(data) }];
      case 'CancelTask':
        // Cancelling a cancelled task is a no-op, so a client may retry a cancel whose answer it lost.
        // A task that ended otherwise (completed, failed) cannot be cancelled: that is a real conflict.
        if (state.status === 'cancelled') return [];
        if (TERMINAL.has(state.status)) {
          throw new InvalidTransitionError('task', state.status, type, `the task is ${state.status} already: only a submitted or running task can be cancelled`);
        }
        if (state.status === 'none') reject(state, command);
        return [{ type: 'TaskCancelled', data: omitUndefined(data) }];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'TaskSubmitted': {
        const steps = (event.data as { steps?: unknown[] }).steps;
        return { status: 'submitted', stepCount: steps?.length ?? 0 };
      }
      case 'TaskStarted':
        return { ...state, status: 'running' };
      case 'TaskCompleted':
        return { ...state, status: 'completed' };
      case 'TaskFailed':
        return { ...state, status: 'failed' };
      case 'TaskCancelled':
        return { ...state, status: 'cancelled' };
      default:
        // Events added by later contexts (steps, tool calls) do not change the lifecycle.
        return state;
    }
  },
};

export const taskStream = (taskId: string) => `task-${taskId}`;
