import { OpenMcpError } from '../core/errors';
import { hashCanonical } from '../core/hash';
import { openSealedAnswer, SealedAnswerError, type SealedAnswer } from '../core/sealed-answer';

/** A task's final answer as the client reads it: `sealed` when it was opened from `sealedAnswer`. */
export type TaskAnswer = { answer: string; answerHash: string; sealed: boolean };

/** The task has no answer to read (docs/errors.md): not completed, no instruction, or under hash-only not sealed. */
export class TaskAnswerError extends OpenMcpError {
  constructor(code: 'TASK_NO_ANSWER' | 'ANSWER_NOT_KEPT', message: string) {
    super(code, message, { status: 409 });
  }
}

/** As GET /v1/tasks/:id shows it: a `sealedAnswer` of a scheme this client does not know is read, and refused on opening. */
type TaskLike = { id: string; status: string; output?: unknown; sealedAnswer?: Omit<SealedAnswer, 'scheme'> & { scheme: string } };

/**
 * The final answer of a task as GET /v1/tasks/:id shows it: the output's `answer` (LLM_REDACTION=store),
 * or its `sealedAnswer` opened with the recipient's `privateKey` and checked against the signed
 * output's `answerHash` (hash-only with an answerRecipient). Throws TaskAnswerError when there is
 * none to read, SealedAnswerError when it does not open (wrong key, altered, hash mismatch).
 * @example readTaskAnswer(await client.tasks.get(id), readFileSync('./answer.key', 'utf8')).answer
 */
export function readTaskAnswer(task: TaskLike, privateKey?: string | Uint8Array): TaskAnswer {
  if (task.status !== 'completed') throw new TaskAnswerError('TASK_NO_ANSWER', `task ${task.id} is ${task.status}: it has no answer${task.status === 'submitted' || task.status === 'running' ? ' yet' : ''}`);
  const output = (task.output ?? {}) as { answer?: unknown; answerHash?: unknown };
  if (typeof output.answer === 'string') return { answer: output.answer, answerHash: hashCanonical(output.answer), sealed: false };
  if (typeof output.answerHash !== 'string') throw new TaskAnswerError('TASK_NO_ANSWER', `task ${task.id} has no answer: it had explicit steps only, no instruction`);
  if (!task.sealedAnswer) {
    throw new TaskAnswerError(
      'ANSWER_NOT_KEPT',
      `task ${task.id} ran under LLM_REDACTION=hash-only and its answer was not sealed (submitted without answerRecipient, or resumed after a final turn recorded without a sealed copy, by a worker from before InferenceCompleted v5): the log keeps only its hash ${output.answerHash}`,
    );
  }
  if (privateKey === undefined) throw new SealedAnswerError('SEALED_ANSWER_KEY_INVALID', `task ${task.id}'s answer is sealed to the public key ${task.sealedAnswer.recipient}: give its private key`);
  return { answer: openSealedAnswer(task.sealedAnswer, privateKey, { taskId: task.id, answerHash: output.answerHash }), answerHash: output.answerHash, sealed: true };
}
