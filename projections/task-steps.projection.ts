import { parseStream } from '../src/core/envelope';
import type { DocumentProjection } from './projection';
import { alreadyApplied } from './stream-revision';
import { SEND_TRANSACTION_TOOL } from '../src/core/chain-tool-names';

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
  /** A chain step's transaction as its events tell it (TransactionSubmitted, then Confirmed or Rejected): the last one. */
  tx?: StepTransaction;
  revision: number;
};

/**
 * How far a step's transaction got: not signed yet (`unsent`, from its TaskStepStarted on), signed and
 * sent (maybe), mined (with its receipt's status), or never sent (refused). None on a step projected
 * before 2026-12-11 (migrations/20261211100000_step_run_transactions.ts): unknown.
 */
export type StepTransaction = {
  chainId?: number;
  txHash?: string;
  outcome: 'unsent' | 'submitted' | 'confirmed' | 'rejected';
  status?: 'success' | 'reverted';
  blockNumber?: number;
  error?: { code: string; message: string };
  /** When it was mined or refused (the event's occurredAt). */
  at?: string;
};

/** The events that tell how far a chain step's transaction got, in its task's stream. */
export const TRANSACTION_EVENT_TYPES = ['TransactionSubmitted', 'TransactionConfirmed', 'TransactionRejected'] as const;

const TYPES = new Set<string>(['TaskStepStarted', 'TaskStepCompleted', 'TaskStepFailed', 'PolicyEvaluated', ...TRANSACTION_EVENT_TYPES]);
type D = Record<string, unknown>;

/** The index of a step that never started and is not an explicit one: the view lists it after the others. */
export const UNSTARTED_INDEX = -1;

/** `step-<i>` is the i-th explicit step; a step the model asked for has an index only once it starts. */
function explicitIndex(stepId: string): number | undefined {
  const m = /^step-(\d+)$/.exec(stepId);
  return m ? Number(m[1]) : undefined;
}

/**
 * Steps as run, one document per (task, stepId). Its events share the task's stream, so the
 * stream revision orders them and dedupes a redelivery. A step that ends before it starts has a
 * document too: one the policy denied (its `PolicyEvaluated` deny is its first event, so the view
 * shows the tool and the rule rather than a step `pending` in a failed task), and an explicit
 * step refused without a call (`CHAIN_NOT_CONFIGURED`). A model's slip that named no tool
 * (`MCP_TOOL_NOT_FOUND`, `TOOL_ARGUMENTS_INVALID` without a call) is not listed as a step.
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
        ...(d.tool === SEND_TRANSACTION_TOOL ? { tx: { outcome: 'unsent' as const } } : {}),
        status: 'running',
        startedAt: e.occurredAt,
        revision: e.revision,
      };
    }
    if (e.type === 'PolicyEvaluated') {
      // Later decisions of a step (a transaction's, one made again on resume) change nothing here: its end says how it went.
      if (current || d.subject !== 'tool' || d.decision !== 'deny') return current;
      const stepId = String(d.stepId);
      return {
        taskId: parseStream(e.stream).id,
        stepId,
        index: explicitIndex(stepId) ?? UNSTARTED_INDEX,
        tool: String(d.tool),
        status: 'failed',
        error: { code: 'POLICY_DENIED', message: `policy rule ${String(d.rule)}: ${String(d.reason)}` },
        completedAt: e.occurredAt,
        revision: e.revision,
      };
    }
    if (e.type === 'TransactionSubmitted' || e.type === 'TransactionConfirmed' || e.type === 'TransactionRejected') {
      // Only what the step's own end does not say: the view shows it where a cancel or the task's timeout cut the step short.
      return current ? { ...current, tx: evolveTransaction(current.tx, e.type, d, e.occurredAt), revision: e.revision } : current;
    }
    if (!current) {
      const index = e.type === 'TaskStepFailed' ? explicitIndex(String(d.stepId)) : undefined;
      if (index === undefined) return undefined;
      // The tool is the submitted step's, which the view joins in.
      return { taskId: parseStream(e.stream).id, stepId: String(d.stepId), index, tool: '', status: 'failed', error: d.error as StepRunDoc['error'], completedAt: e.occurredAt, revision: e.revision };
    }
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

/**
 * The step's transaction after one of its events (a resent one, the same bytes, keeps its hash).
 * @example evolveTransaction({ outcome: 'unsent' }, 'TransactionSubmitted', { chainId: 1, txHash: '0x…' }, at).outcome // 'submitted'
 */
export function evolveTransaction(tx: StepTransaction | undefined, type: string, d: D, at: string): StepTransaction {
  const ref = { chainId: Number(d.chainId), txHash: String(d.txHash) };
  if (type === 'TransactionSubmitted') return { ...ref, outcome: 'submitted' };
  if (type === 'TransactionConfirmed') return { ...ref, outcome: 'confirmed', status: d.status as StepTransaction['status'], blockNumber: Number(d.blockNumber), at };
  return { ...(tx ?? {}), ...ref, outcome: 'rejected', error: d.error as StepTransaction['error'], at };
}
