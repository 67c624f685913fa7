/**
 * Why a run stops without writing: the runtime stopped (it resumes later), the task was cancelled, another runner owns it, a step's end (or a model turn's tokens) could not be recorded (the store or the ledger unreachable: it is tried again), or the task's stream holds an event of a newer release (`newer-release`: a worker of that release runs it; this one writes nothing more).
 */
export class RunInterrupted extends Error {
  constructor(readonly why: 'stopped' | 'cancelled' | 'taken-over' | 'ended' | 'unrecorded' | 'newer-release') {
    super(`task run interrupted: ${why}`);
  }
}
