import { parseStream } from '../src/core/envelope';
import type { DocumentProjection } from './projection';
import { alreadyApplied } from './stream-revision';

/** One step the agent runtime ran (TaskStepStarted/Completed/Failed, in the task's stream). */
export type StepRunDoc = {
  taskId: string;
  stepId: string;
  index: number;
  tool: string;
  argumentsHash?: string;
  argumentsJson?: string;
  source?: 'steps' | 'llm';
  status: 'running' | 'completed' | 'failed';
  resultHash?: string;
  resultJson?: string;
  isError?: boolean;
  error?: { code: string; message: string };
  startedAt?: string;
  completedAt?: string;
  revision: number;
};

const TYPES = new Set(['TaskStepStarted', 'TaskStepCompleted', 'TaskStepFailed']);
type D = Record<string, unknown>;

/**
 * Steps as run, one document per (task, stepId). Its events share the task's stream, so the
 * stream revision orders them and dedupes a redelivery.
 */
export const taskStepsProjection: DocumentProjection<StepRunDoc> = {
  name: 'task-steps',
  canHandle: (e) => TYPES.has(e.type) && e.stream.startsWith('task-'),
  documentId: (e) => `${parseStream(e.stream).id}/${(e.data as D).stepId}`,
  evolve(current, e) {
    if (alreadyApplied(current, e)) return current;
    const d = e.data as D;
    if (e.type === 'TaskStepStarted') {
      return {
        taskId: parseStream(e.stream).id,
        stepId: String(d.stepId),
        index: Number(d.index),
        tool: String(d.tool),
        argumentsHash: d.argumentsHash as string,
        argumentsJson: d.argumentsJson as string | undefined,
        source: d.source as StepRunDoc['source'],
        status: 'running',
        startedAt: e.occurredAt,
        revision: e.revision,
      };
    }
    if (!current) return undefined;
    if (e.type === 'TaskStepCompleted') {
      return {
        ...current,
        status: d.isError ? 'failed' : 'completed',
        resultHash: d.resultHash as string,
        resultJson: d.resultJson as string | undefined,
        isError: d.isError as boolean,
        completedAt: e.occurredAt,
        revision: e.revision,
      };
    }
    return { ...current, status: 'failed', error: d.error as StepRunDoc['error'], completedAt: e.occurredAt, revision: e.revision };
  },
};
