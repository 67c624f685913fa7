/** One step of a task as the run executes it: from the task's explicit steps or from the LLM's tool calls. */
export type StepSpec = { stepId: string; index: number; tool: string; args: Record<string, unknown>; source: 'steps' | 'llm' };
