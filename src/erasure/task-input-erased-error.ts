import { OpenMcpError } from '../core/errors';

/**
 * A task's input was recorded sealed (MCP_PAYLOAD_POLICY=encrypted) and cannot be opened: its
 * submitter's key was erased (or this worker has no subject keys). `started`: the task had run
 * before (a run resumed after the erasure, by a restart or another worker), so some of it may have
 * been done: what it recorded stays. The task fails with this code; its events stay as they were.
 */
export class TaskInputErasedError extends OpenMcpError {
  constructor(taskId: string, hasKeys: boolean, started = false) {
    const what = started
      ? `task ${taskId} was stopped after it started (its run resumed): its instruction or step arguments were recorded encrypted`
      : `task ${taskId} was not run: its instruction or step arguments were recorded encrypted`;
    const why = hasKeys
      ? " and the submitter's key has been erased (DELETE /v1/subjects/:subject/key)"
      : ' (MCP_PAYLOAD_POLICY=encrypted) and this worker has no subject keys to open them';
    super('TASK_INPUT_ERASED', `${what}${why}${started ? '; the steps it recorded before stay in its events, nothing more is run' : ''}`, { status: 409, details: { taskId } });
  }
}
