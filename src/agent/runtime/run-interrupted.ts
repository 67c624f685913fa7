/** Why a run stops without writing: the runtime stopped (it resumes later), the task was cancelled, or another runner owns it. */
export class RunInterrupted extends Error {
  constructor(readonly why: 'stopped' | 'cancelled' | 'taken-over' | 'ended') {
    super(`task run interrupted: ${why}`);
  }
}
