// A task's one-line description in the task list: pure, so it is tested without a browser.

/**
 * A task's one-line description: its instruction, else its tools. An instruction given sealed
 * (MCP_PAYLOAD_POLICY=encrypted) whose submitter's key was deleted since is said to be erased,
 * as the task's page says it, rather than read as a task without one.
 * taskDescription({ instructionErased: true, steps: [] }) → '(instruction erased, only its hash)'.
 * @param {{ instruction?: string, instructionErased?: true, steps: { tool: string }[] }} t
 * @returns {string}
 */
export function taskDescription(t) {
  if (t.instruction !== undefined) return t.instruction;
  const tools = t.steps.map((s) => s.tool).join(', ');
  if (t.instructionErased) return tools ? `${tools} (instruction erased, only its hash)` : '(instruction erased, only its hash)';
  return tools || '(no steps)';
}
