import { opened } from '../erasure/opened';
import type { SubjectKeyStore } from '../erasure/subject-key-store';
import { taskInputAad } from '../erasure/task-input';
import type { TaskView } from './port';

/**
 * A task's view as the API shows it: an input given sealed (TaskSubmitted v3,
 * MCP_PAYLOAD_POLICY=encrypted) opened with its subject's key into `instruction` and the steps'
 * `arguments`, or, once the key is erased (or unknown here), marked `instructionErased` /
 * `argumentsErased`, `instructionHash` still shown. The sealed envelopes never leave.
 * @example await openTaskView(keys, await readModels.getTask(tenant, id))
 */
export async function openTaskView(keys: SubjectKeyStore | undefined, view: TaskView): Promise<TaskView> {
  const { instructionSealed, ...v } = view;
  if (instructionSealed) {
    const json = await opened(keys, instructionSealed, taskInputAad(view.id, 'instruction'));
    if (json === undefined) v.instructionErased = true;
    else v.instruction = JSON.parse(json) as string;
  }
  v.steps = await Promise.all(
    view.steps.map(async ({ argumentsSealed, ...s }) => {
      if (!argumentsSealed) return s;
      const json = await opened(keys, argumentsSealed, taskInputAad(view.id, { step: s.index }));
      if (json === undefined) return { ...s, argumentsErased: true as const };
      return { ...s, arguments: JSON.parse(json) as Record<string, unknown> };
    }),
  );
  return v;
}
