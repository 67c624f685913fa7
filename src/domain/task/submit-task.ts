import { canonicalJson } from '../../core/canonical';
import { InvalidTransitionError, OpenMcpError } from '../../core/errors';
import { newId } from '../../core/ids';
import { handleCommand, type CommandMetadata, type HandleCommandDependencies } from '../handle-command';
import { taskIdForIdempotencyKey } from './idempotent-task-id';
import { taskDecider, taskStream, type TaskCommand, type TaskStatus } from './task.decider';
import type { TaskStep } from '../../../events/task.events';
import { hasSaltedHash, taskInputDigest, type OpenedTaskInput, type RecordedTaskInput } from '../../erasure/task-input';

/** The same Idempotency-Key was sent before with another request: nothing is appended. */
export class IdempotencyKeyReusedError extends OpenMcpError {
  constructor(taskId: string, erased = false) {
    const why = erased
      ? `this Idempotency-Key already submitted task ${taskId}, whose input was recorded encrypted and can no longer be opened (the submitter's key was erased), so this body cannot be compared with it`
      : `this Idempotency-Key already submitted task ${taskId} with a different body`;
    super('IDEMPOTENCY_KEY_REUSED', `${why}; use a new key for a new task`, {
      status: 422,
      details: { field: 'headers.idempotency-key', taskId },
    });
  }
}

export type SubmitTaskParameters = {
  command: Extract<TaskCommand, { type: 'SubmitTask' }>;
  metadata: CommandMetadata;
  /** The client's Idempotency-Key (already checked against IDEMPOTENCY_KEY). */
  idempotencyKey?: string;
  /**
   * MCP_PAYLOAD_POLICY=encrypted: seal the instruction and the steps' arguments for the task
   * `taskId` (sealTaskInput under the submitter's subject key) before they are recorded.
   */
  sealInput?: (taskId: string, input: { instruction?: string; steps?: TaskStep[] }) => Promise<RecordedTaskInput>;
  /**
   * Open a recorded input with its subject's keys (openTaskInput): an Idempotency-Key retry of a
   * task whose input hashes are salted (TaskSubmitted v4) is compared with the plaintext.
   */
  openInput?: (taskId: string, input: RecordedTaskInput) => Promise<OpenedTaskInput>;
};

export type SubmitTaskReturnType = {
  id: string;
  status: Exclude<TaskStatus, 'none'>;
  /** True when the key named a task submitted before: nothing new was appended. */
  replayed: boolean;
  /** Global position of the task's TaskSubmitted (for read-your-writes). */
  position: number;
};

type SubmitTaskCommand = SubmitTaskParameters['command'];

function sealed(c: SubmitTaskCommand, input: RecordedTaskInput): SubmitTaskCommand {
  const { instruction: _i, steps: _s, ...rest } = c;
  return { ...rest, ...input } as SubmitTaskCommand;
}

/**
 * TaskSubmitted's data with its input (clear or sealed) replaced by the plain SHA-256 of each part.
 * An input with salted hashes (v4) is opened first: each salt differs, so only the plaintext
 * compares. Undefined when it cannot be opened (its key erased): nothing then says what it was,
 * which is the point of salting.
 */
async function comparable(data: unknown, taskId: string, open: SubmitTaskParameters['openInput']): Promise<Record<string, unknown> | undefined> {
  const { instruction: _i, instructionHash: _h, instructionHashScheme: _c, instructionSealed: _x, steps: _s, ...rest } = data as RecordedTaskInput & Record<string, unknown>;
  const input = data as RecordedTaskInput;
  if (!hasSaltedHash(input)) return { ...rest, ...taskInputDigest(input) };
  const opened = open ? await open(taskId, input) : undefined;
  if (!opened || opened.erased) return undefined;
  return { ...rest, ...taskInputDigest({ instruction: opened.instruction, steps: opened.steps }) };
}

/**
 * Submit a task. With an idempotency key the task id is derived from (tenant, key), so a client
 * retrying a POST whose answer it lost gets the task it already started — never a second one that
 * could act (or pay) twice — whichever API replica answers: the event store refuses a second
 * TaskSubmitted on the stream. The retry must carry the same body; another body is refused
 * (IDEMPOTENCY_KEY_REUSED) rather than silently answered with a task that does something else.
 */
export async function submitTask(deps: HandleCommandDependencies, p: SubmitTaskParameters): Promise<SubmitTaskReturnType> {
  const id = p.idempotencyKey === undefined ? newId() : taskIdForIdempotencyKey(p.metadata.tenant, p.idempotencyKey);
  const stream = taskStream(id);
  const command = p.sealInput ? await sealed(p.command, await p.sealInput(id, { instruction: p.command.instruction, steps: p.command.steps as TaskStep[] | undefined })) : p.command;
  try {
    const result = await handleCommand(deps, { decider: taskDecider, stream, command, metadata: p.metadata });
    return { id, status: 'submitted', replayed: false, position: result.events[result.events.length - 1].position };
  } catch (err) {
    if (p.idempotencyKey === undefined || !(err instanceof InvalidTransitionError) || err.command !== 'SubmitTask') throw err;
  }
  // The key was used before: answer with that task if it is the same request.
  const history = (await deps.store.readStream(stream)).map((e) => deps.catalog.upcast(e));
  const [draft] = taskDecider.decide(p.command, taskDecider.initialState());
  const wanted = deps.catalog.validate(draft.type, draft.version ?? deps.catalog.latestVersion(draft.type), draft.data);
  // Compared by the input's plain hashes: a sealed input's ciphertext (and salt) differs on every submission.
  if (history[0]?.type !== 'TaskSubmitted') throw new IdempotencyKeyReusedError(id);
  const recorded = await comparable(history[0].data, id, p.openInput);
  if (recorded === undefined) throw new IdempotencyKeyReusedError(id, true);
  if (canonicalJson(recorded) !== canonicalJson(await comparable(wanted, id, undefined))) throw new IdempotencyKeyReusedError(id);
  const state = history.reduce((s, e) => taskDecider.evolve(s, { type: e.type, data: e.data }), taskDecider.initialState());
  return { id, status: state.status as Exclude<TaskStatus, 'none'>, replayed: true, position: history[0].position };
}
