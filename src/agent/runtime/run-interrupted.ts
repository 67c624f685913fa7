/** Why a run stops without writing: the runtime stopped (it resumes later), the task was cancelled, another runner owns it, or a step's end (or a model turn's tokens) could not be recorded (the store or the ledger unreachable: it is tried again). */
export class RunInterrupted extends Error {
  constructor(readonly why: 'stopped' | 'cancelled' | 'taken-over' | 'ended' | 'unrecorded') {
    super(`task run interrupted: ${why}`);
  }
}
