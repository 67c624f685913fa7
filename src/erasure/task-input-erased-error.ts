import { OpenMcpError } from '../core/errors';

/**
 * A task's input was recorded sealed (MCP_PAYLOAD_POLICY=encrypted) and cannot be opened: its
 * submitter's key was erased before the task ran (or this worker has no subject keys). The task
 * fails with this code; its events stay as they were.
 */
export class TaskInputErasedError extends OpenMcpError {
  constructor(taskId: string, hasKeys: boolean) {
    super(
      'TASK_INPUT_ERASED',
      hasKeys
        ? `task ${taskId} was not run: its instruction or step arguments were recorded encrypted and the submitter's key has been erased (DELETE /v1/subjects/:subject/key)`
        : `task ${taskId} was not run: its instruction or step arguments were recorded encrypted (MCP_PAYLOAD_POLICY=encrypted) and this worker has no subject keys to open them`,
      { status: 409, details: { taskId } },
    );
  }
}
