import { openedPayload } from '../erasure/opened';
import type { SubjectKeyStore } from '../erasure/subject-key-store';
import { taskInputAad } from '../erasure/task-input';
import { saltOf } from './open-tool-call-view';
import type { TaskView } from './port';

/**
 * A task's view as the API shows it: an input given sealed (TaskSubmitted v3 and v4,
 * MCP_PAYLOAD_POLICY=encrypted) opened with its subject's key into `instruction` and the steps'
 * `arguments` (v4's with the scheme and salt of their hashes), or, once the key is erased (or
 * unknown here), marked `instructionErased` / `argumentsErased`, `instructionHash` still shown.
 * The sealed envelopes never leave.
 * @example await openTaskView(keys, await readModels.getTask(tenant, id))
 */
export async function openTaskView(keys: SubjectKeyStore | undefined, view: TaskView): Promise<TaskView> {
  const { instructionSealed, ...v } = view;
  if (instructionSealed) {
    const p = await openedPayload(keys, instructionSealed, taskInputAad(view.id, 'instruction'));
    if (p === undefined) v.instructionErased = true;
    else Object.assign(v, { instruction: JSON.parse(p.json) as string }, saltOf(p, 'instruction'));
  }
  v.steps = await Promise.all(
    view.steps.map(async ({ argumentsSealed, ...s }) => {
      if (!argumentsSealed) return s;
      const p = await openedPayload(keys, argumentsSealed, taskInputAad(view.id, { step: s.index }));
      if (p === undefined) return { ...s, argumentsErased: true as const };
      return { ...s, arguments: JSON.parse(p.json) as Record<string, unknown>, ...saltOf(p, 'arguments') };
    }),
  );
  return v;
}
