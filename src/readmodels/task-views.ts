import type { Knex } from 'knex';
import { taskFromRow } from '../../projections/tasks.sql';
import { toolCallFromRow } from '../../projections/tool-calls.sql';
import type { ToolCallDoc } from '../../projections/tool-calls.projection';
import { chunks, parseJson } from '../../projections/sql-rows';
import type { TaskDoc } from '../../projections/tasks.projection';
import { evolveTransaction, TRANSACTION_EVENT_TYPES, UNSTARTED_INDEX, type StepRunDoc, type StepTransaction } from '../../projections/task-steps.projection';
import { stepRunFromRow } from '../../projections/task-steps.sql';
import type { StepApprovalView, TaskApprovalView, TaskStepView, TaskView } from './port';
import type { SealedPayload } from '../erasure/sealed-payload';
import type { ReadModelTables } from '../../projections/tables';
import { namespacedToolName } from '../core/tool-name';
import { toolErrorOf } from './tool-error';
import { isChainToolName, SEND_TRANSACTION_TOOL } from '../core/chain-tool-names';

type StepRow = { tool: string; arguments?: Record<string, unknown>; argumentsSealed?: SealedPayload };

function stepView(index: number, step: StepRow | undefined, call: ToolCallDoc | undefined): TaskStepView {
  const view: TaskStepView = {
    index,
    tool: step?.tool ?? (call ? namespacedToolName(call.server, call.tool) : 'unknown'),
    arguments: step?.arguments ?? parseJson(call?.argumentsJson),
    status: 'pending',
  };
  if (step?.argumentsSealed) view.argumentsSealed = step.argumentsSealed;
  if (!call) return view;
  view.toolCallId = call.id;
  view.startedAt = call.requestedAt;
  if (call.status === 'requested') view.status = 'running';
  else {
    view.completedAt = call.completedAt;
    if (call.latencyUs !== undefined) view.latencyMs = Math.round(call.latencyUs / 1000);
    if (call.status === 'failed') {
      view.status = 'failed';
      view.error = call.error;
    } else {
      view.status = call.isError ? 'failed' : 'completed';
      view.result = parseJson(call.resultJson);
      if (call.isError) view.error = toolErrorOf(view.result);
    }
  }
  return view;
}

function runView(index: number, step: StepRow | undefined, run: StepRunDoc, call: ToolCallDoc | undefined, cutShort: ToolCallDoc | undefined): TaskStepView {
  const view: TaskStepView = {
    index,
    tool: run.tool || (step?.tool ?? 'unknown'),
    arguments: step?.arguments ?? parseJson(run.argumentsJson),
    status: run.status,
    startedAt: run.startedAt,
  };
  if (step?.argumentsSealed) view.argumentsSealed = step.argumentsSealed;
  if (call) view.toolCallId = call.id;
  if (call?.latencyUs !== undefined) view.latencyMs = Math.round(call.latencyUs / 1000);
  if (run.completedAt) view.completedAt = run.completedAt;
  if (run.resultJson !== undefined) view.result = parseJson(run.resultJson);
  if (run.error) view.error = run.error;
  else if (run.isError) view.error = toolErrorOf(view.result);
  // No end in the task's stream, yet the call ended: the task was cancelled or timed out mid-call
  // (its run then records nothing more) and the gateway recorded how the call ended (cutShortCall).
  if (cutShort) {
    const ended = stepView(index, step, cutShort);
    Object.assign(view, { toolCallId: cutShort.id, latencyMs: ended.latencyMs, status: ended.status, completedAt: ended.completedAt, result: ended.result, error: ended.error });
  }
  return JSON.parse(JSON.stringify(view)) as TaskStepView;
}

/**
 * How a chain step (a contract read or a transaction: no gateway call) still `running` in a task
 * that ended (cancelled, or failed by its timeout) ended, as its own events say: a transaction
 * mined shows its receipt (`completed`, or `failed` TX_REVERTED), one the node refused its
 * TX_REJECTED (never sent), one sent and not seen mined `failed` TX_PENDING (it may still be
 * mined), and a read, or a transaction never signed, `failed` STEP_CUT_SHORT (nothing was sent).
 * Undefined for any other step, and in a task still running (its worker may resume the step).
 */
function chainStepEnd(doc: TaskDoc, run: StepRunDoc): Pick<TaskStepView, 'status' | 'result' | 'error' | 'completedAt'> | undefined {
  if ((doc.status !== 'cancelled' && doc.status !== 'failed') || run.status !== 'running' || !isChainToolName(run.tool)) return undefined;
  const ended = doc.status === 'cancelled' ? 'the task was cancelled' : `the task failed (${doc.error?.code ?? 'TASK_ERROR'})`;
  const tx = run.tx;
  // Projected before its transaction was (2026-12-11): whether it was sent is unknown here, so it stays running.
  if (run.tool === SEND_TRANSACTION_TOOL && !tx) return undefined;
  const at = tx?.at ?? doc.updatedAt;
  if (tx?.outcome === 'confirmed') {
    const result = { chainId: tx.chainId, txHash: tx.txHash, blockNumber: tx.blockNumber, status: tx.status };
    if (tx.status === 'success') return { status: 'completed', result, completedAt: at };
    return { status: 'failed', result, error: { code: 'TX_REVERTED', message: `transaction ${tx.txHash} was mined in block ${tx.blockNumber} of chain ${tx.chainId} and reverted` }, completedAt: at };
  }
  if (tx?.outcome === 'rejected' && tx.error) return { status: 'failed', error: tx.error, completedAt: at };
  if (tx?.outcome === 'submitted') {
    return { status: 'failed', error: { code: 'TX_PENDING', message: `${ended} after this step recorded transaction ${tx.txHash} for chain ${tx.chainId} as sent: it may have gone out and may still be mined; check the chain before resubmitting` }, completedAt: at };
  }
  const what = run.tool === SEND_TRANSACTION_TOOL ? 'before this step sent its transaction: nothing was sent' : 'before this read ended: a read sends nothing';
  return { status: 'failed', error: { code: 'STEP_CUT_SHORT', message: `${ended} ${what}` }, completedAt: at };
}

/**
 * The call of a step still `running` in a task that ended (cancelled, or failed by its timeout)
 * when the gateway recorded its end: the step's own call (`own`, which names the step,
 * ToolCallRequested v5), else, for a call of an earlier release that names none, the task's last
 * call, of the step's tool, made once the step started. Only once the task ended: in a running
 * task a call's end is not yet the step's (a worker stopped mid-call leaves the step to be
 * resumed, run again or failed STEP_OUTCOME_UNKNOWN).
 */
function cutShortCall(doc: TaskDoc, run: StepRunDoc, own: ToolCallDoc | undefined, calls: ToolCallDoc[]): ToolCallDoc | undefined {
  if ((doc.status !== 'cancelled' && doc.status !== 'failed') || run.status !== 'running' || run.startedAt === undefined) return undefined;
  if (own) return own.status === 'requested' ? undefined : own;
  const last = calls[calls.length - 1];
  if (!last || last.stepId !== undefined || last.status === 'requested' || namespacedToolName(last.server, last.tool) !== run.tool) return undefined;
  return last.requestedAt !== undefined && last.requestedAt >= run.startedAt ? last : undefined;
}

/**
 * Step i of a task: the i-th step given at submission, with what the runtime recorded for index i
 * (TaskStep* events) and the gateway call made for it: the last one naming its `stepId`
 * (ToolCallRequested v5; a step resumed after a crash may make two), or, for calls of an earlier
 * release that name no step, the i-th of those (in log order; i less the steps before with a call naming them), as for calls made without step
 * events. Joining at read time keeps the projections independent, which matters under Kafka: a
 * call's stream and its task's stream are ordered separately, so neither projection may assume it
 * has seen the other's events.
 */
export function assembleTaskView(doc: TaskDoc, steps: StepRow[], calls: ToolCallDoc[], allRuns: StepRunDoc[] = []): TaskView {
  const runs = allRuns.filter((r) => r.index !== UNSTARTED_INDEX);
  const byIndex = new Map(runs.map((r) => [r.index, r]));
  // In log order: a step's last call is the one that counts.
  const byStep = new Map(calls.flatMap((c) => (c.stepId !== undefined ? [[c.stepId, c] as const] : [])));
  const unnamed = calls.filter((c) => c.stepId === undefined);
  // A call naming no step is the k-th of those, k counting the steps before that have a call naming them: i
  // for a task of an earlier release (none do), and still its own in a task run across a rollback or a rollout.
  const namedBefore = (i: number) => runs.filter((r) => r.index < i && byStep.has(r.stepId)).length;
  const ownCall = (i: number, run: StepRunDoc) => {
    const own = byStep.get(run.stepId);
    if (own) return own;
    const c = unnamed[i - namedBefore(i)];
    return c && namespacedToolName(c.server, c.tool) === run.tool ? c : undefined;
  };
  let n = Math.max(steps.length, unnamed.length, ...runs.map((r) => r.index + 1));
  // Steps the model asked for that ended before they started (a policy denial): after the others, in log order.
  for (const r of allRuns.filter((x) => x.index === UNSTARTED_INDEX).sort((a, b) => a.revision - b.revision)) byIndex.set(n++, r);
  const view: TaskView = {
    id: doc.id,
    tenant: doc.tenant,
    status: doc.status,
    steps: Array.from({ length: n }, (_, i) => i).flatMap((i) => {
      const run = byIndex.get(i);
      // An index with no step given, none run and no call: a model's slip took it (no such tool, arguments
      // that are not JSON: its TaskStepFailed is in the events), not a step to show as `unknown` and pending.
      if (!run && i >= steps.length && (runs.length || !unnamed[i])) return [];
      if (!run) return stepView(i, steps[i], runs.length ? undefined : unnamed[i]);
      const call = ownCall(i, run);
      const view = runView(i, steps[i], run, call, cutShortCall(doc, run, byStep.get(run.stepId), calls));
      const chainEnd = chainStepEnd(doc, run);
      return chainEnd ? { ...view, ...chainEnd } : view;
    }),
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    revision: doc.revision,
  };
  if (doc.instruction !== undefined) view.instruction = doc.instruction;
  if (doc.instructionSealed !== undefined) view.instructionSealed = doc.instructionSealed;
  if (doc.instructionHash !== undefined) view.instructionHash = doc.instructionHash;
  if (doc.instructionHashScheme !== undefined) view.instructionHashScheme = doc.instructionHashScheme;
  if (doc.agentId !== undefined) view.agentId = doc.agentId;
  if (doc.chainId !== undefined) view.chainId = doc.chainId;
  if (doc.output !== undefined) view.output = doc.output;
  if (doc.outputHash !== undefined) view.outputHash = doc.outputHash;
  if (doc.sealedAnswer !== undefined) view.sealedAnswer = doc.sealedAnswer;
  if (doc.error !== undefined) view.error = doc.error;
  const waiting = awaitingApproval(doc, byIndex, view.steps);
  if (waiting.length) view.awaitingApproval = waiting;
  return view;
}

/**
 * The task's proposals still waiting for a human, each also on its step's view. Only while the
 * task runs: its end settles them all (the projection drops them too), and only once asked
 * (ApprovalRequested): a policy decision alone is not yet a request.
 */
function awaitingApproval(doc: TaskDoc, byIndex: Map<number, StepRunDoc>, steps: TaskStepView[]): TaskApprovalView[] {
  if (doc.status !== 'submitted' && doc.status !== 'running') return [];
  const indexOf = new Map([...byIndex].map(([i, r]) => [r.stepId, i]));
  return (doc.approvals ?? []).flatMap((a) => {
    if (a.status !== 'pending' || a.requestedAt === undefined) return [];
    const onStep: StepApprovalView = { proposalHash: a.proposalHash, rule: a.rule, requestedAt: a.requestedAt };
    if (a.reason !== undefined) onStep.reason = a.reason;
    if (a.approvals) onStep.approvals = a.approvals;
    const out: TaskApprovalView = { proposalHash: a.proposalHash, stepId: a.stepId, rule: a.rule, ...(a.reason !== undefined ? { reason: a.reason } : {}), requestedAt: a.requestedAt };
    const i = indexOf.get(a.stepId);
    if (i !== undefined) {
      out.stepIndex = i;
      const step = steps.find((s) => s.index === i)!;
      out.tool = step.tool;
      step.awaitingApproval = onStep;
    }
    if (a.approvals) out.approvals = a.approvals;
    return [out];
  });
}

/** Full views of the given tasks in four queries per chunk (tasks, steps, step runs, tool calls). */
export async function loadTaskViews(db: Knex, t: ReadModelTables, ids: string[]): Promise<Map<string, TaskView>> {
  const out = new Map<string, TaskView>();
  for (const part of chunks([...new Set(ids)], 500)) {
    const [taskRows, stepRows, callRows, runRows] = await Promise.all([
      db(t.tasks).whereIn('id', part),
      db(t.taskSteps).whereIn('task_id', part).orderBy(['task_id', 'idx']),
      db(t.toolCalls).whereIn('task_id', part).orderBy(['task_id', 'requested_position']),
      db(t.taskStepRuns).whereIn('task_id', part).orderBy(['task_id', 'idx', 'step_id']),
    ]);
    const runs = new Map<string, StepRunDoc[]>();
    for (const r of runRows) {
      const list = runs.get(r.task_id) ?? [];
      list.push(stepRunFromRow(r));
      runs.set(r.task_id, list);
    }
    const steps = new Map<string, StepRow[]>();
    for (const r of stepRows) {
      const list = steps.get(r.task_id) ?? [];
      list.push({ tool: r.tool, arguments: parseJson(r.arguments_json), argumentsSealed: parseJson(r.arguments_sealed) });
      steps.set(r.task_id, list);
    }
    const calls = new Map<string, ToolCallDoc[]>();
    for (const r of callRows) {
      const list = calls.get(r.task_id) ?? [];
      list.push(toolCallFromRow(r));
      calls.set(r.task_id, list);
    }
    await readTransactions(db, t, taskRows, runs);
    for (const r of taskRows) {
      const doc = taskFromRow(r);
      out.set(doc.id, assembleTaskView(doc, steps.get(doc.id) ?? [], calls.get(doc.id) ?? [], runs.get(doc.id) ?? []));
    }
  }
  return out;
}

/**
 * A transaction step still `running` in a task that ended: its transaction as the task's own
 * events in the audit log tell it, replacing the step row's `tx` where they say more. The row alone
 * may say `unsent` wrongly: a projector of a release before 2026-12-11 (in a rolling upgrade, or
 * after a rollback) applies TransactionSubmitted without recording it there, and a step projected
 * before that release has no `tx` at all. Every release's projectors write each event to the audit
 * log in the batch that moves the task, so what it holds is what happened up to the task's end: the
 * view never says "nothing was sent" of a transaction recorded as submitted. One query per chunk,
 * only when such a step is there (a cancel or timeout in the middle of a transaction: rare).
 */
async function readTransactions(db: Knex, t: ReadModelTables, taskRows: Record<string, unknown>[], runs: Map<string, StepRunDoc[]>): Promise<void> {
  const ended = new Map(taskRows.filter((r) => r.status === 'cancelled' || r.status === 'failed').map((r) => [String(r.id), String(r.tenant)]));
  const open = [...ended.keys()].flatMap((id) => (runs.get(id) ?? []).filter((r) => r.status === 'running' && r.tool === SEND_TRANSACTION_TOOL));
  if (!open.length) return;
  const tasks = [...new Set(open.map((r) => r.taskId))];
  const rows: { stream: string; tenant: string; body: string }[] = await db(t.auditEvents)
    .whereIn('stream', tasks.map((id) => `task-${id}`))
    .whereIn('type', [...TRANSACTION_EVENT_TYPES])
    .orderBy('position', 'asc')
    .select('stream', 'tenant', 'body');
  const told = new Map<string, StepTransaction>();
  for (const row of rows) {
    const e = JSON.parse(row.body) as { type: string; stream: string; tenant: string; occurredAt: string; data: Record<string, unknown> };
    const taskId = e.stream.slice('task-'.length);
    // The task's own tenant only (a stream id is the task's, but the row is read as any other read is).
    if (ended.get(taskId) !== e.tenant) continue;
    const key = `${taskId}/${String(e.data.stepId)}`;
    told.set(key, evolveTransaction(told.get(key) ?? { outcome: 'unsent' }, e.type, e.data, e.occurredAt));
  }
  for (const run of open) {
    const tx = told.get(`${run.taskId}/${run.stepId}`);
    if (tx) run.tx = tx;
  }
}
