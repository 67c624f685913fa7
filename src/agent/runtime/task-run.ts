import type { TaskStep } from '../../../events/task.events';
import { isSealedStep, openTaskInput } from '../../erasure/task-input';
import { TaskInputErasedError } from '../../erasure/task-input-erased-error';
import { createEvent, MAX_EVENT_BYTES, type Actor, type RecordedEvent } from '../../core/envelope';
import { newId } from '../../core/ids';
import { InvalidTransitionError, OpenMcpError, UnavailableError, WrongExpectedRevisionError } from '../../core/errors';
import { EventFromNewerReleaseError } from '../../../events/event-from-newer-release-error';
import { taskDecider, taskStream, type TaskCommand } from '../../domain/task/task.decider';
import { keptPayload, type PayloadPolicy } from '../../mcp/audit';
import { newPayloadSalt, PAYLOAD_HASH_SCHEME, saltedPayloadHash } from '../../erasure/salted-hash';
import { McpGatewayError } from '../../mcp/errors';
import { payloadDigest } from '../../mcp/payload-hash';
import { traceLlmCall, traceToolCall } from '../../telemetry/component-spans';
import { AgentError } from '../errors';
import { cachesResponses, infer, rememberSaltedPrompt, responseCacheKey, saltedPromptCacheKey, savedPrompt } from '../llm/infer';
import { forgetTurnIfErased } from '../llm/forget-turn-if-erased';
import { forgetSaltedPrompts, forgetTurnEntries } from '../../cache/llm-response-keys';
import { estimateTokens } from '../llm/token-budget';
import type { AssistantMessage, ChatMessage, Completion, CompletionRequest, ToolSpec } from '../llm/port';
import { policyName, resolvePolicy } from '../policy/resolve-policy';
import { decisionVersion } from '../policy/policy-hash';
import { evaluateToolCall, type PolicyDecision } from '../policy/evaluate-policy';
import type { AgentPolicy } from '../policy/policy';
import { READ_CONTRACT_TOOL, SEND_TRANSACTION_TOOL, chainTools, isChainToolName } from './chain-tools';
import { runChainRead, runChainTransaction } from './chain-steps';
import { RunInterrupted } from './run-interrupted';
import { boundToolText } from './bound-tool-text';
import { inferenceRecord } from './inference-record';
import { isRecordedResponse, sealTurnPrompt, sealTurnResponse } from './turn-response-seal';
import { subjectOf } from '../../erasure/subject';
import type { SubjectKey } from '../../erasure/subject-key-store';
import { sealSaltOnly, stepErrorAad, taskErrorAad, type SealedPayload } from '../../erasure/sealed-payload';
import { argumentsNotKept, recordedError, redactedResponse, taskRedaction, unkeptTurnMessage, withheld, withheldServerText } from './llm-redaction';
import { responseCacheTtlMs } from './response-cache-ttl';
import { INFERENCE_RESPONSE_JSON_MAX } from '../../../events/agent.events';
import { signOutput } from './output-signature';
import { sealAnswer, type SealedAnswer } from '../../core/sealed-answer';
import { isHex32, type Hex } from '../../core/hex';
import { recordedFailure, unkeptResultText } from './step-payload';
import type { StepSpec } from './step-spec';
import type { AgentRuntimeDependencies, AgentRuntimeOptions } from './runtime-deps';
import { applyTaskEvent, callsOf, foldTaskView, isTerminal, type StepOutcome, type TaskView, type TurnRecord } from './task-view';
import type { ToolInfo, ToolResult } from './tool-caller';
import { cutText, wellFormed } from '../../core/well-formed';
import { didYouMean } from '../../core/tool-name';

/** The name steps record and policy rules match: `<server>__<tool>`, exact. */
function canonicalName(t: ToolInfo): string {
  return t.namespacedName ?? t.name;
}

/** Events only a runner writes: seeing one we did not write means another runner has the task. */
const RUNNER_TYPES = new Set([
  'TaskLeased', 'TaskLeaseReleased', 'TaskStarted', 'TaskCompleted', 'TaskFailed', 'TaskStepStarted', 'TaskStepCompleted', 'TaskStepFailed',
  'InferenceCompleted', 'PolicyEvaluated', 'ApprovalRequested', 'ApprovalRequirementChanged', 'TransactionSubmitted', 'TransactionConfirmed', 'TransactionRejected',
]);

/**
 * How a run returns: the task is finished (by anyone), the run was stopped (resume later), another
 * worker holds its lease (retry at `heldUntil`), or the task's stream holds an event of a newer
 * release (`newer`: see `fromNewerRelease`; a worker of that release runs the task, this one only watches).
 */
export type RunOutcome = 'ended' | 'interrupted' | 'held' | 'newer';

export { RunInterrupted };

export type { StepSpec };

/**
 * A step's end: a result (maybe a tool-level error) or a failure; `fatal` failures end the task.
 * `failed` is the error as recorded; `told`, when it differs, the whole error the model is given
 * during this run (under MCP_PAYLOAD_POLICY=hash-only the record withholds the upstream's text).
 */
export type StepEnd = { ok: StepOutcome; text: string } | { failed: { code: string; message: string }; fatal: boolean; told?: string };

export type RunHooks = {
  /** Resolves when something may have changed for this task (approval, cancel) or after `ms`. */
  waitForChange(ms: number): Promise<void>;
  /**
   * Aborted when the task is cancelled (not when the runtime stops): a tool call in flight is then
   * cancelled upstream. On a stop it is left to finish, so the gateway still records whether the
   * upstream acted, which is what a client checks after STEP_OUTCOME_UNKNOWN.
   */
  cancelled?: AbortSignal;
};

function textOf(r: ToolResult): string {
  const parts = (r.content ?? []).map((c) => (c && typeof c === 'object' && (c as { type?: string }).type === 'text' ? String((c as { text?: unknown }).text ?? '') : payloadDigest(c).json));
  if (parts.length) return parts.join('\n');
  return r.structuredContent !== undefined ? payloadDigest(r.structuredContent).json : '';
}

/**
 * One run of one task, resumable: everything done is read back from the task's stream first
 * and never done again (see docs/agent.md "Resuming"). Appends go at the expected revision,
 * so two runners can never both write a task.
 *
 * Ownership is explicit: before doing anything the run appends TaskLeased {worker, term,
 * leaseUntil} at the revision it read, so of two workers racing for a task exactly one wins;
 * the other sees a live lease and returns 'held'. The holder renews at half-life (in sync(),
 * which every step and wait goes through); once a lease has expired (its holder died) any
 * worker may take the task with the next term. A graceful stop hands the lease back
 * (TaskLeaseReleased) so nobody has to wait for it to expire.
 */
export class TaskRun {
  private view: TaskView;
  /** When the lease another worker holds expires (epoch ms), after run() returned 'held'. */
  heldUntil = 0;
  /** Its instruction was given sealed (TaskSubmitted v3) and opened by this run. */
  private inputWasSealed = false;
  /** The first event of a newer release found on the task's stream, after run() returned 'newer'. */
  fromNewerRelease?: EventFromNewerReleaseError;
  private renewing = false;
  private heartbeat?: NodeJS.Timeout;
  /** Serializes reading newer events and appending (the lease heartbeat runs beside the steps): an event we appended is applied to the view before any read can see it. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stream: string;
  private readonly actor: Actor;
  private policy!: AgentPolicy;
  /** Aborted when the task's deadline passes: the model call or tool call in flight is given up (and cancelled upstream). */
  private readonly pastDeadline = new AbortController();

  constructor(
    private readonly deps: AgentRuntimeDependencies,
    private readonly opts: AgentRuntimeOptions,
    readonly taskId: string,
    private readonly signal: AbortSignal,
    private readonly hooks: RunHooks,
  ) {
    this.stream = taskStream(taskId);
    this.view = foldTaskView(taskId, []);
    this.actor = { kind: 'agent', id: opts.worker };
  }

  /**
   * What this step's events keep of its payloads: the gateway's MCP_PAYLOAD_POLICY for its tools.
   * The runtime's own chain tools keep theirs (their transactions are recorded whole anyway).
   */
  private payloadPolicyOf(tool: string): PayloadPolicy {
    const p = this.configuredPolicyOf(tool);
    // The task's own events are never sealed: under `encrypted` they keep hashes only, and the
    // gateway's ToolCall* events hold the payloads, sealed (erasable with the subject's key).
    return p === 'encrypted' ? 'hash-only' : p;
  }

  /** The gateway's MCP_PAYLOAD_POLICY for this step's tool as configured: what a withheld text names. */
  private configuredPolicyOf(tool: string): PayloadPolicy {
    return isChainToolName(tool) ? 'store' : (this.deps.tools.payloadPolicy ?? 'store');
  }

  /**
   * The salts the gateway is to seal this step's payloads with under MCP_PAYLOAD_POLICY=encrypted
   * (fresh each call: with the payload, or alone for one it keeps by hash only, a model's arguments
   * under LLM_REDACTION=hash-only or past 256 KiB), so that the step's events keep the salted hashes
   * the call's events keep, and lose them with the same key (`error`: that of a withheld error
   * message's digest, TaskStepFailed as the call's ToolCallFailed v2); none for the runtime's chain
   * tools, which the gateway does not call (their payloads are recorded in clear).
   */
  private payloadSaltsOf(s: StepSpec): { arguments?: Buffer; result?: Buffer; error?: Buffer } {
    if (this.configuredPolicyOf(s.tool) !== 'encrypted') return {};
    return { arguments: newPayloadSalt(), result: newPayloadSalt(), error: newPayloadSalt() };
  }

  /** Arguments the model wrote, kept out of every event under LLM_REDACTION=hash-only. */
  private modelArgumentsWithheld(s: StepSpec): boolean {
    return s.source === 'llm' && this.redaction === 'hash-only' && !isChainToolName(s.tool);
  }

  /**
   * What this step's events (and the gateway's ToolCallRequested) keep of its arguments: those the
   * model wrote are its answer, kept by hash only under LLM_REDACTION=hash-only; else as its payloads.
   * The runtime's own chain tools keep theirs (their transactions are recorded whole, and a resumed run needs them).
   */
  private argumentsPolicyOf(s: StepSpec): PayloadPolicy {
    return this.modelArgumentsWithheld(s) ? 'hash-only' : this.payloadPolicyOf(s.tool);
  }

  /**
   * LLM_REDACTION for this task: the worker's, or `hash-only` for a task with an `answerRecipient`
   * (taskRedaction). Read from the view: TaskSubmitted, the view's first event, fixes it.
   */
  private get redaction(): 'store' | 'hash-only' {
    return taskRedaction(this.opts.redaction, { answerRecipient: this.view.answerRecipient, instructionSealed: this.inputWasSealed || this.view.instructionSealed });
  }

  /**
   * LLM_CACHE_TTL_MS for this task's turns: off by default when it is run hash-only
   * (responseCacheTtlMs). Always off for a task a `store` worker runs hash-only for its
   * answerRecipient: that worker's LLM_CACHE_TTL_MS was set for its store tasks, and the client
   * asked that no one but itself could read the answer.
   */
  private get cacheTtlMs(): number {
    if (this.redaction === 'hash-only' && this.opts.redaction !== 'hash-only') return 0;
    return responseCacheTtlMs({ redaction: this.redaction, llmCacheTtlMs: this.opts.llmCacheTtlMs });
  }

  private now(): Date {
    return this.deps.clock ? this.deps.clock() : new Date();
  }

  /**
   * Run to the end (TaskCompleted / TaskFailed), or until interrupted (then nothing more is
   * written). Resolves 'ended' when the task is finished (by us or anyone), else 'interrupted'.
   */
  async run(): Promise<RunOutcome> {
    try {
      return await this.runOnce();
    } finally {
      clearInterval(this.heartbeat);
    }
  }

  private async runOnce(): Promise<RunOutcome> {
    const history = await this.deps.store.readStream(this.stream);
    this.view = foldTaskView(this.taskId, history);
    if (this.view.status === 'none') return 'interrupted';
    const newer = history.find((e) => this.deps.catalog.isFromNewerRelease(e));
    // A finished task's unbooked turns are booked here (bookEnded), unless a newer release wrote to
    // its stream: then one of its workers does, and this one has nothing to watch.
    if (isTerminal(this.view)) return newer ? 'ended' : this.bookEnded();
    // Before the lease: a worker that cannot read the whole stream takes nothing and writes nothing.
    if (newer) {
      this.noteNewer(newer);
      return 'newer';
    }
    this.policy = resolvePolicy(this.deps.policy, this.view.tenant, this.view.agentId ?? '*');
    try {
      const lease = await this.acquire();
      if (lease !== 'acquired') return lease;
      if (this.redaction !== this.opts.redaction) {
        const why = this.view.answerRecipient !== undefined ? 'names an answerRecipient' : 'was given its instruction sealed (MCP_PAYLOAD_POLICY=encrypted)';
        this.deps.logger?.warn({ taskId: this.taskId }, `this task ${why}: it is run under LLM_REDACTION=hash-only, not this worker's store (give the API and the workers the same LLM_REDACTION)`);
      }
      // Renewed on a timer too, not only between steps: a model or tool call longer than half the
      // lease must not let another worker take a task whose worker is alive (it would fail the call
      // in flight as STEP_OUTCOME_UNKNOWN, or ask the model twice). Errors surface in the run's own next sync.
      this.heartbeat = setInterval(() => void this.keepLease().catch(() => {}), Math.max(100, Math.floor(this.opts.leaseMs / 4)));
      this.heartbeat.unref();
      await this.bookUnbookedTurns();
      // A sealed input is opened first: a task whose submitter's key was erased fails, unrun.
      await this.openInput();
      if (this.view.status === 'submitted') await this.command({ type: 'StartTask', worker: this.opts.worker });
      const deadline = Date.parse(this.view.startedAt ?? this.now().toISOString()) + this.opts.taskTimeoutMs;
      const { output, sealedAnswer } = await this.withDeadline(deadline, () => this.execute());
      const signed = signOutput(output, this.deps.privateKey);
      await this.command({ type: 'CompleteTask', output: signed.output, outputHash: signed.outputHash, signer: signed.signer, signature: signed.signature, sealedAnswer });
      return 'ended';
    } catch (err) {
      if (err instanceof RunInterrupted) return err.why === 'stopped' || err.why === 'unrecorded' ? 'interrupted' : err.why === 'taken-over' ? this.heldOrEnded() : err.why === 'newer-release' ? 'newer' : 'ended';
      if (this.signal.aborted) return 'interrupted';
      if (err instanceof InvalidTransitionError) return 'ended'; // cancelled or finished meanwhile
      // A dependency unreachable a moment (the adapter says so: DEPENDENCY_UNAVAILABLE) is not the
      // task's failure: the run stops and is tried again with the runtime's backoff, resuming from
      // the log. Anything else (a bug, a refusal) fails the task: retried, it would fail the same way.
      if (err instanceof UnavailableError) {
        this.deps.logger?.warn({ err, taskId: this.taskId }, 'a dependency is unreachable; the run stops and is tried again (it resumes from its events)');
        return 'interrupted';
      }
      this.deps.logger?.warn({ err, taskId: this.taskId }, 'task failed');
      try {
        await this.command({ type: 'FailTask', ...(await this.failureRecord(err)) });
        // Only now (TaskFailed recorded, so nothing more can be appended): a model or tool call still
        // in flight past the deadline is given up, and the tool call cancelled upstream.
        this.pastDeadline.abort(new Error('task ended'));
        return 'ended';
      } catch (e) {
        if (e instanceof RunInterrupted && e.why === 'taken-over') return this.heldOrEnded();
        if (e instanceof RunInterrupted && e.why === 'newer-release') return 'newer';
        if (e instanceof InvalidTransitionError || (e instanceof RunInterrupted && e.why !== 'stopped')) return 'ended';
        if (!(e instanceof RunInterrupted)) this.deps.logger?.warn({ err: e, taskId: this.taskId }, 'TaskFailed not recorded; the run is tried again (it resumes from its events)');
        return 'interrupted';
      }
    }
  }

  /**
   * TaskSubmitted v3: the instruction and the steps' arguments opened with the submitter's subject
   * key into the view. Throws TASK_INPUT_ERASED when any cannot be: the key erased before the task
   * ran, or after it started and before this run resumed it (a run going on keeps what it opened).
   */
  private async openInput(): Promise<void> {
    const v = this.view;
    if (v.instructionSealed === undefined && !(v.steps ?? []).some(isSealedStep)) return;
    const input = await openTaskInput(this.deps.subjectKeys, this.taskId, { instructionSealed: v.instructionSealed, steps: v.steps });
    if (input.erased) {
      await this.forgetErasedTurns();
      throw new TaskInputErasedError(this.taskId, this.deps.subjectKeys !== undefined, v.status === 'running');
    }
    v.instruction = input.instruction;
    // Opened here, still run hash-only (taskRedaction): what the client gave sealed stays out of the log.
    this.inputWasSealed ||= v.instructionSealed !== undefined;
    v.instructionSealed = undefined;
    v.steps = input.steps as TaskStep[] | undefined;
  }

  /**
   * A finished task (cancelled, say, while its run waited to be tried again after a ledger outage)
   * may still hold turns whose tokens were never booked: booked now (keyed, so no lease is needed:
   * runs of the task anywhere book each at most once). 'interrupted' while the ledger still fails,
   * so the runtime tries again.
   */
  private async bookEnded(): Promise<RunOutcome> {
    try {
      await this.bookUnbookedTurns();
      return 'ended';
    } catch (err) {
      if (err instanceof RunInterrupted || err instanceof UnavailableError) return 'interrupted';
      throw err;
    }
  }

  /** Take the task's lease (a new term) unless another worker holds a live one. */
  private async acquire(): Promise<'acquired' | 'held' | 'ended'> {
    for (let attempt = 0; ; attempt++) {
      if (this.signal.aborted) throw new RunInterrupted('stopped');
      const now = this.now().getTime();
      const l = this.view.lease;
      if (l && l.worker !== this.opts.worker && l.until > now) {
        this.heldUntil = l.until;
        return 'held';
      }
      try {
        const term = this.view.leaseTerm + 1;
        await this.appendAt('TaskLeased', { worker: this.opts.worker, term, leaseUntil: new Date(now + this.opts.leaseMs).toISOString() });
        // Another worker's lease that ran out (one handed back is cleared): it died, hung or lost the
        // log. The log's only other trace of that failure is this TaskLeased, so the operator's log says it.
        if (l && l.worker !== this.opts.worker) {
          this.deps.logger?.info?.({ taskId: this.taskId, from: l.worker, term, leaseExpiredAt: new Date(l.until).toISOString() }, `task taken over: the lease of ${l.worker} ran out; resuming from its events`);
        }
        return 'acquired';
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError) || attempt >= 10) throw err;
        await this.refresh();
        if (isTerminal(this.view)) return 'ended';
      }
    }
  }

  /** After losing the task to another worker: watch its lease (take over once it expires) unless the task is over. */
  private async heldOrEnded(): Promise<RunOutcome> {
    await this.refresh().catch(() => {});
    if (isTerminal(this.view)) return 'ended';
    this.heldUntil = this.view.lease?.until ?? this.now().getTime();
    return 'held';
  }

  /** Renew our lease at half-life. Called from sync(), so every step and every wait keeps it. */
  private async keepLease(): Promise<void> {
    const l = this.view.lease;
    if (this.renewing || !l || l.worker !== this.opts.worker) return;
    const now = this.now().getTime();
    if (l.until - now > this.opts.leaseMs / 2) return;
    this.renewing = true;
    try {
      await this.append('TaskLeased', { worker: this.opts.worker, term: l.term, leaseUntil: new Date(now + this.opts.leaseMs).toISOString() });
    } finally {
      this.renewing = false;
    }
  }

  /**
   * Hand the lease back (graceful stop): appended even though the run was aborted. Only when we
   * still hold it at the revision we know; anything else means it is not ours to give.
   */
  async release(): Promise<void> {
    const l = this.view.lease;
    if (!l || l.worker !== this.opts.worker || isTerminal(this.view)) return;
    await this.appendAt('TaskLeaseReleased', { worker: this.opts.worker, term: l.term }).catch((err) => {
      if (!(err instanceof WrongExpectedRevisionError)) this.deps.logger?.warn({ err, taskId: this.taskId }, 'task lease not released; it expires on its own');
    });
  }

  /** Read newer events without the takeover check (before we own the task). */
  private async refresh(): Promise<void> {
    await this.serialized(async () => {
      for (const e of await this.deps.store.readStream(this.stream, { fromRevision: this.view.lastRevision + 1 })) {
        this.admit(e);
        applyTaskEvent(this.view, e);
      }
    });
  }

  /**
   * Stop at an event of a newer release (RunInterrupted 'newer-release'), before it is applied:
   * the view stays at the revision before it, so every later append of this run (a lease renewal,
   * a release) conflicts and nothing is written after an event this worker cannot read.
   */
  private admit(e: RecordedEvent): void {
    if (!this.deps.catalog.isFromNewerRelease(e)) return;
    this.noteNewer(e);
    throw new RunInterrupted('newer-release');
  }

  private noteNewer(e: RecordedEvent): void {
    const { catalog } = this.deps;
    this.fromNewerRelease ??= new EventFromNewerReleaseError(e, catalog.has(e.type) ? catalog.latestVersion(e.type) : undefined);
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => {});
    return p;
  }

  private async withDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
    const left = deadline - this.now().getTime();
    if (left <= 0) throw new AgentError('TASK_TIMEOUT', `task ran longer than ${this.opts.taskTimeoutMs} ms (AGENT_TASK_TIMEOUT_MS)`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new AgentError('TASK_TIMEOUT', `task ran longer than ${this.opts.taskTimeoutMs} ms (AGENT_TASK_TIMEOUT_MS)`)), left);
    });
    try {
      return await Promise.race([fn(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The task's work; `sealedAnswer` beside the signed output when its answer is kept only sealed (sealedAnswerOf). */
  private async execute(): Promise<{ output: Record<string, unknown>; sealedAnswer?: SealedAnswer }> {
    const v = this.view;
    const output: Record<string, unknown> = {};
    let sealedAnswer: SealedAnswer | undefined;
    // Given to the model whole; the output (an event too) leaves out the text of a tool whose payloads are hash-only.
    const stepResults: Record<string, unknown>[] = [];
    const outputSteps: Record<string, unknown>[] = [];
    for (const [i, s] of (v.steps ?? []).entries()) {
      // In clear here: a sealed step was opened by openInput before the run began.
      const end = await this.step({ stepId: `step-${i}`, index: i, tool: s.tool, args: (s as TaskStep).arguments ?? {}, source: 'steps' });
      if ('failed' in end) throw new AgentError(end.failed.code as never, `step ${i} (${s.tool}): ${end.failed.message}`);
      const kept = this.payloadPolicyOf(s.tool) === 'store';
      if (end.ok.isError) {
        const policy = this.configuredPolicyOf(s.tool) === 'encrypted' ? "MCP_PAYLOAD_POLICY=encrypted, under which the task's events keep hashes only" : 'MCP_PAYLOAD_POLICY=hash-only';
        const why = kept ? `: ${cutText(end.text, 2000)}` : ` (its text withheld: ${policy}; result ${end.ok.resultHashScheme ?? 'sha-256'} ${end.ok.resultHash})`;
        throw new AgentError('TOOL_FAILED', `step ${i} (${s.tool}) returned an error${why}`);
      }
      // A salted hash (MCP_PAYLOAD_POLICY=encrypted) says so: the output is signed and kept in clear.
      const r = { stepId: `step-${i}`, tool: s.tool, resultHash: end.ok.resultHash, ...(end.ok.resultHashScheme ? { resultHashScheme: end.ok.resultHashScheme } : {}) };
      stepResults.push({ ...r, text: cutText(end.text, 4000) });
      outputSteps.push(kept ? { ...r, text: cutText(end.text, 4000) } : r);
    }
    if (outputSteps.length) output.steps = outputSteps;
    if (v.instruction !== undefined) {
      const reasoned = await this.reason(v.instruction, stepResults);
      // Under hash-only the answer is the model's words: the signed output names it by hash (the log keeps no copy in clear).
      if (this.redaction === 'store' && reasoned.answer !== undefined) output.answer = reasoned.answer;
      else {
        output.answerHash = reasoned.answerHash;
        sealedAnswer = reasoned.sealedAnswer ?? this.sealedAnswerOf(reasoned.answer);
      }
    }
    return { output, sealedAnswer };
  }

  /**
   * Under hash-only, the answer sealed to the client's key when the task names one (TaskSubmitted
   * v2 `answerRecipient`), for a final turn whose record holds no sealed copy (recorded by a worker
   * from before InferenceCompleted v5): sealed here when the run has the answer (the response
   * cache), else none, and the task completes with `answerHash` alone, as without a recipient.
   */
  private sealedAnswerOf(answer: string | undefined): SealedAnswer | undefined {
    const recipient = this.view.answerRecipient;
    if (recipient === undefined) return undefined;
    if (answer === undefined) {
      this.deps.logger?.warn({ taskId: this.taskId }, 'the answer is not sealed: this run resumed the task after a final turn recorded without a sealed copy (by an older worker) and has no copy of the answer (LLM_REDACTION=hash-only)');
      return undefined;
    }
    return sealAnswer(answer, recipient as Hex, this.taskId);
  }

  /**
   * The answer of a final turn (no tool calls, and not cut off or filtered: finalAnswer) sealed to
   * the task's answerRecipient, to be recorded with the turn (InferenceCompleted v5) and then
   * completed with (TaskCompleted v2 holds the same copy). Sealed before the turn is recorded: a
   * run resumed after it, by this worker or another, has no other copy of the answer (the log
   * keeps only its hash, the response cache is off), and would complete the task with the hash
   * alone, an answer paid for and lost. Undefined for any other turn, or a task without a recipient.
   */
  private sealedFinalAnswer(message: AssistantMessage, finishReason: string): SealedAnswer | undefined {
    const recipient = this.view.answerRecipient;
    if (recipient === undefined || (message.tool_calls ?? []).length > 0 || answerRefusal(finishReason, this.opts.maxTokens)) return undefined;
    return sealAnswer(message.content ?? '', recipient as Hex, this.taskId);
  }

  /**
   * The model loop: turns already recorded are replayed from their events, never asked again. The
   * answer is undefined when the log (and the response cache) has no copy of it in clear: a
   * hash-only final turn recorded before a restart; its hash is always known, and `sealedAnswer`
   * is the sealed copy its turn recorded, for a task with an answerRecipient (sealedFinalAnswer).
   */
  private async reason(instruction: string, stepResults: Record<string, unknown>[]): Promise<{ answer?: string; answerHash: string; sealedAnswer?: SealedAnswer }> {
    const llm = this.deps.llm;
    if (!llm) throw new AgentError('LLM_NOT_CONFIGURED', 'natural-language tasks need an LLM: set OPENAI_BASE_URL (OPENAI_API_KEY, OPENAI_MODEL)');
    const tools = await this.offeredTools(instruction);
    const specs: ToolSpec[] = tools.map((t) => ({ name: t.name, description: t.description?.slice(0, 1000), parameters: t.inputSchema }));
    // The model calls the host-safe names it was shown; steps and policy go by the namespaced one.
    const stepTool = new Map(tools.map((t) => [t.name, canonicalName(t)]));
    const hits = this.deps.knowledge?.search(instruction, this.opts.knowledgeChunks) ?? [];
    let system = 'You are an agent of OpenMCP-Chain. Use the tools when needed; every action is audited and checked by policy. Answer concisely.';
    if (this.view.chainId !== undefined) system += ` Default chain id: ${this.view.chainId}.`;
    if (hits.length) system += `\n\nKnowledge:\n${hits.map((h) => `[${h.id}] ${h.text}`).join('\n---\n')}`;
    let user = instruction;
    if (stepResults.length) user += `\n\nResults of the task's explicit steps:\n${JSON.stringify(stepResults)}`;
    const messages: ChatMessage[] = [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ];
    // The explicit steps (all done by now); the model's steps are counted as their turns are run or replayed.
    let steps = this.view.steps?.length ?? 0;
    const offered = new Set(specs.map((t) => t.name));
    for (let turn = 0; turn <= this.opts.maxSteps; turn++) {
      const recorded = this.view.turns[turn];
      let message: AssistantMessage;
      let finishReason: string;
      // A hash-only turn replayed without a copy of its words: its calls' arguments are unknown.
      let unkept = false;
      let sealedAnswer: SealedAnswer | undefined;
      if (recorded) {
        sealedAnswer = recorded.sealedAnswer;
        const r = recorded.redacted;
        // A turn the log could not hold whole cannot be replayed: it ends the task the same way again.
        if (r ? r.chars > INFERENCE_RESPONSE_JSON_MAX : recorded.responseJson === undefined) throw responseTooLarge(turn, r?.chars ?? recorded.responseChars ?? 0);
        if (r) {
          const exact = await this.cachedTurn(recorded, turn);
          unkept = !exact;
          message = exact ?? unkeptTurnMessage(r);
        } else {
          // A turn recorded by an earlier release may hold the escape of a lone surrogate: replayed well-formed.
          message = wellFormed(JSON.parse(recorded.responseJson!) as AssistantMessage);
        }
        finishReason = recorded.finishReason;
      } else {
        await this.sync();
        // Had before the model is asked: a key store that fails stops the run with nothing paid.
        const responseKey = await this.responseKey();
        const base = { messages: [...messages], tools: specs, model: this.opts.model, temperature: this.opts.temperature, maxTokens: this.opts.maxTokens };
        // Reserved, not just checked: calls of other tasks and workers in flight count too (see TokenBudget).
        const hold = await this.deps.tokenBudget?.reserve({
          tenant: this.view.tenant,
          taskTokens: this.view.tokensUsed,
          estimate: estimateTokens(base),
          now: () => this.now(),
          ttlMs: this.opts.stepTimeoutMs + 10_000,
          signal: this.signal,
        });
        const signal = AbortSignal.any([this.signal, this.pastDeadline.signal, AbortSignal.timeout(this.opts.stepTimeoutMs)]);
        const req = { ...base, signal };
        let r;
        try {
          // The key its prompt is salted under (below) is kept beside the answer: a hit on it once that key is erased is a miss.
          const cacheDeps = { llm, tenant: this.view.tenant, cache: this.deps.cache, cacheTtlMs: this.cacheTtlMs, subjectKeys: this.deps.subjectKeys };
          r = await traceLlmCall(this.opts.model, () => infer(cacheDeps, req, { kid: responseKey?.kid }));
        } catch (err) {
          // No answer, no usage to book: the reservation is freed.
          await hold?.settle(0, this.now()).catch((e) => this.deps.logger?.warn({ err: e, taskId: this.taskId }, 'token reservation not freed; it expires on its own'));
          if (this.signal.aborted) throw new RunInterrupted('stopped');
          if (signal.aborted) throw new AgentError('STEP_TIMEOUT', `the model did not answer within ${this.opts.stepTimeoutMs} ms (AGENT_STEP_TIMEOUT_MS)`);
          throw err;
        }
        // Booked whether or not the turn can still be recorded: the provider was paid for it. (Its usage is
        // the adapter's estimate where the server reported none: counted all the same, or the budgets would not hold.)
        // Under the id its InferenceCompleted will have, so that a booking made again counts once. If
        // the ledger fails, the turn is recorded all the same, saying so (v6 usageUnbooked), and the run
        // stops: the run that resumes books it (bookUnbookedTurns) and replays the turn, rather than
        // ask the model again (paid twice) or find it in the response cache (booked never).
        const turnId = newId();
        let bookingFailed: { err: unknown } | undefined;
        await hold?.settle(r.cached ? 0 : r.completion.usage.totalTokens, this.now(), turnId).catch((err: unknown) => {
          bookingFailed = { err };
        });
        message = r.completion.message;
        finishReason = r.completion.finishReason;
        const response = payloadDigest(message);
        const hashOnly = this.redaction === 'hash-only';
        sealedAnswer = hashOnly ? this.sealedFinalAnswer(message, finishReason) : undefined;
        // Salted as the answer's hash is (v8): the plain one, the cache's key for it, is left to the cache,
        // which a resumed run reaches from the salted one (cachedTurn).
        const promptSeal = hashOnly && responseKey ? sealTurnPrompt(responseKey, this.taskId, turn, r.promptJson) : undefined;
        if (promptSeal) await rememberSaltedPrompt({ tenant: this.view.tenant, cache: this.deps.cache, cacheTtlMs: this.cacheTtlMs }, req, r.promptHash, promptSeal.hash);
        const record = inferenceRecord({
          base: {
            turn,
            provider: llm.provider,
            model: r.completion.model,
            promptHash: r.promptHash,
            redaction: this.redaction,
            finishReason: r.completion.finishReason,
            usage: r.completion.usage,
            latencyMs: r.latencyMs,
            cached: r.cached,
            knowledgeChunks: hits.map((h) => h.id),
            tools: specs.map((s) => s.name),
            ...(bookingFailed ? { usageUnbooked: true } : {}),
          },
          response,
          // Left out past the schema's cap or the event limit (promptHash still names them; each result is in its step's events).
          // Nor kept when they hold results (or errors) of a tool whose payloads are hash-only: they would be in the log after all.
          messagesJson: !hashOnly && !this.holdsHashOnlyPayloads(stepResults, messages) ? payloadDigest(req.messages).json : undefined,
          redacted: hashOnly ? redactedResponse(message, offered) : undefined,
          sealedAnswer,
          // The text beside tool calls salted too (v8); a final turn's stays plain: it is the task's answerHash.
          responseSeal: hashOnly && responseKey ? sealTurnResponse(responseKey, this.taskId, turn, response.json, message.tool_calls?.length ? payloadDigest(message.content ?? '').json : undefined) : undefined,
          promptSeal,
        });
        // Recorded even when the answer is too large to keep: its tokens were paid for and count against the budgets.
        await this.appendDone('InferenceCompleted', record.data, record.version, turnId).catch(async (err: unknown) => {
          if (promptSeal && !unknownOutcome(err)) await this.forgetUnrecordedTurn(req, r.promptHash, promptSeal.hash, turn, err, r.cached);
          throw err;
        });
        if (promptSeal) await this.forgetIfErased(req, responseKey!.kid, r.promptHash, promptSeal.hash, turn);
        if (bookingFailed) throw this.notRecorded(bookingFailed.err, 'InferenceCompleted tokens');
        if (record.omitted) {
          throw sealedAnswer && response.json.length <= INFERENCE_RESPONSE_JSON_MAX ? sealedAnswerTooLarge(turn, sealedAnswer.ciphertext.length) : responseTooLarge(turn, response.json.length);
        }
      }
      messages.push(message);
      const calls = message.tool_calls ?? [];
      if (!calls.length) {
        const answer = finalAnswer(message, finishReason, this.opts.maxTokens);
        const kept = sealedAnswer ? { sealedAnswer } : {};
        return unkept ? { answerHash: recorded!.redacted!.contentHash, ...kept } : { answer, answerHash: payloadDigest(answer).hash, ...kept };
      }
      const stepIds = stepIdsOf(turn, calls);
      for (const [i, call] of calls.entries()) {
        if (++steps > this.opts.maxSteps) throw new AgentError('TASK_MAX_STEPS', `task reached ${this.opts.maxSteps} steps (AGENT_MAX_STEPS)`);
        const stepId = stepIds[i];
        let args: Record<string, unknown>;
        if (unkept) {
          // Its arguments are known only where the step kept them (a chain tool's); a call that ended keeps its recorded end.
          const rec = this.view.stepRecords.get(stepId);
          if (!rec?.result && !rec?.failed && rec?.argumentsJson === undefined && (!rec || rec.idempotent)) {
            const failed = argumentsNotKept(stepId, rec !== undefined);
            await this.appendStepFailed({ stepId, error: failed });
            messages.push({ role: 'tool', tool_call_id: call.id, content: `error ${failed.code}: ${failed.message}` });
            continue;
          }
          call.function.arguments = rec?.argumentsJson ?? '{}';
        }
        try {
          // The model's JSON may escape a lone surrogate (`"\ud800"`): its arguments are well-formed text, as its words are (infer).
          args = wellFormed(JSON.parse(call.function.arguments || '{}'));
          if (!args || typeof args !== 'object' || Array.isArray(args)) throw new Error('arguments must be a JSON object');
        } catch (err) {
          const code = 'TOOL_ARGUMENTS_INVALID';
          // The parser quotes the model's text, and may cut it inside a pair: well-formed, as events need.
          const told = wellFormed(cutText(`the arguments of ${cutText(call.function.name, 200)} are not a JSON object: ${(err as Error).message}`, 4000));
          // The model's text, and the parser's message that quotes it, are its words.
          const name = offered.has(call.function.name) ? call.function.name : 'a tool call';
          // Recorded for the audit (nothing was called); a replay parses the same text and says the same.
          if (!this.view.stepRecords.has(stepId)) {
            const slip = this.redaction === 'hash-only' ? await this.withheldSlip(stepId, call.function.arguments) : undefined;
            const failed = { code, message: slip ? `the arguments of ${name} are not a JSON object (the model's text and the parser's message ${slip.words})` : told };
            await this.appendStepFailed({ stepId, error: failed, ...slip?.sealed });
          }
          messages.push({ role: 'tool', tool_call_id: call.id, content: `error ${code}: ${told}` });
          continue;
        }
        const tool = stepTool.get(call.function.name) ?? call.function.name;
        // A name no tool has (empty, too long, or not in the catalog — models often drop the server
        // prefix) is a slip of the model: it is told the names it may use. Nothing can be called, so
        // there is nothing for the policy to stop. Recorded (TaskStepFailed), so a resumed run tells
        // the model the same even if such a tool has appeared since.
        // Looked up once, here: step() takes it rather than scanning the catalog again.
        const known = tool ? this.toolInfo(tool) : undefined;
        const end = !this.view.stepRecords.has(stepId) && (!tool || tool.length > 200 || this.isUnknownTool(known))
          ? await this.noSuchTool(stepId, tool, specs)
          : await this.step({ stepId, index: steps - 1, tool, args, source: 'llm' }, { known });
        if ('failed' in end) {
          if (end.fatal) throw new AgentError(end.failed.code as never, end.failed.message);
          messages.push({ role: 'tool', tool_call_id: call.id, content: `error ${end.failed.code}: ${end.told ?? end.failed.message}` });
        } else {
          messages.push({ role: 'tool', tool_call_id: call.id, content: boundToolText(end.text || end.ok.resultJson || '', this.opts.toolResultMaxChars) });
        }
      }
    }
    throw new AgentError('TASK_MAX_STEPS', `the model did not finish within ${this.opts.maxSteps} turns (AGENT_MAX_STEPS)`);
  }

  /**
   * Whether the messages for the model carry what a hash-only tool returned: explicit steps'
   * results in the user message, or a tool message (result or error) of a gateway tool.
   * Conservative: any tool message counts once the gateway's policy is hash-only.
   */
  private holdsHashOnlyPayloads(stepResults: Record<string, unknown>[], messages: ChatMessage[]): boolean {
    if ((this.deps.tools.payloadPolicy ?? 'store') === 'store') return false;
    return stepResults.some((r) => this.payloadPolicyOf(String(r.tool)) === 'hash-only') || messages.some((m) => m.role === 'tool');
  }

  /**
   * Gateway tools picked by search on the instruction (the whole catalog, search hits first and the
   * rest by name, when no more than toolsPerTask of its tools may be called), plus the chain tools,
   * minus what policy forbids. The catalog is counted, and the search's places filled, after the
   * policy: a tool the task may not call is never offered, nor takes the place of one it may.
   */
  private async offeredTools(instruction: string): Promise<ToolInfo[]> {
    const t = this.deps.tools;
    const k = this.opts.toolsPerTask;
    // An upstream tool named like the runtime's chain tools would impersonate them (or shadow them): never offered.
    const mayOffer = (x: ToolInfo) => !isChainToolName(canonicalName(x)) && !isChainToolName(x.name) && this.policyAllows(x);
    let picked: ToolInfo[] = [];
    // Picked once for the whole task (no list_changed reaches it; a resumed run offers them again): on a first start, once the servers
    // new to the catalog have registered, as a step naming one of their tools waits (step), not only
    // past the listings' short hold (LISTING_HOLD_MS). Timed as a step is (a stop interrupts it).
    const held = t.newcomersRegistering?.();
    if (held) await this.timed(held);
    const offeredBefore = this.view.turns[0]?.tools;
    if (offeredBefore) {
      // Resumed after a turn was recorded: offered again what that turn was (InferenceCompleted.tools),
      // as the catalog has them now (a tool gone since is not), not picked again: the catalog may
      // have changed meanwhile (a search ranking otherwise, or grown past toolsPerTask), and the
      // task's later turns would be offered other tools than its first.
      // The chain tools are added below, as they always are.
      const named = new Map((t.listTools?.(this.view.tenant) ?? []).map((x) => [x.name, x]));
      picked = offeredBefore.flatMap((name) => named.get(name) ?? []);
    } else if (t.searchTools) {
      const listed = t.listTools?.(this.view.tenant);
      const all = (listed ?? []).filter(mayOffer);
      // Asked for as many more as the catalog has tools the task may not call: those it ranks are left out below, and k remain.
      const forbidden = listed ? listed.length - all.length : 0;
      picked = (await t.searchTools(this.view.tenant, instruction, k + forbidden)).map((h) => h.tool).filter(mayOffer).slice(0, k);
      // A catalog the search could have offered whole costs the model no more than its k best: offered
      // whole, so an instruction sharing no word with a tool (lexical search) still gets the tools.
      if (all.length <= k) {
        const found = new Set(picked.map((x) => x.name));
        // The rest by name, not in catalog order: that is the order this process applied the servers'
        // registrations (its own at once, another replica's as it follows the log), which another
        // replica, or this one restarted, may not share. The same tools, in the same order, on any worker.
        const rest = all.filter((x) => !found.has(x.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        picked = [...picked, ...rest];
      } else if (!picked.length) {
        // Why the turns' InferenceCompleted name no gateway tool. Not the instruction: the client's words.
        this.deps.logger?.info?.({ taskId: this.taskId, catalogTools: all.length, toolsPerTask: k }, 'tool search found no tool for the instruction in a catalog larger than toolsPerTask: no gateway tool offered to the model');
      }
    } else if (t.listTools) picked = t.listTools(this.view.tenant).filter(mayOffer).slice(0, k);
    picked = picked.filter(mayOffer);
    if (this.deps.chains) picked = [...picked, ...chainTools(this.deps.chains).filter((x) => this.policyAllows(x))];
    return picked;
  }

  /** Whether the policy lets this task call the tool at all (its first call: budgets per task are not spent yet). */
  private policyAllows(x: ToolInfo): boolean {
    return evaluateToolCall(this.policy, { tool: canonicalName(x), callsInTask: 0 }).decision === 'allow';
  }

  private async noSuchTool(stepId: string, tool: string, offered: ToolSpec[]): Promise<StepEnd> {
    const name = `${JSON.stringify(cutText(tool, 100))}${tool.length > 100 ? '…' : ''}`;
    const may = `the tools you may call are: ${offered.map((x) => x.name).join(', ')}`;
    const told = cutText(`no tool named ${name}; ${may}`, 4000);
    // A name the model made up is its own words.
    const slip = this.redaction === 'hash-only' ? await this.withheldSlip(stepId, tool) : undefined;
    const failed = { code: 'MCP_TOOL_NOT_FOUND', message: slip ? cutText(`no tool by the name the model gave (${slip.words}); ${may}`, 4000) : told };
    await this.appendStepFailed({ stepId, error: failed, ...slip?.sealed });
    return { failed, fatal: false, ...(told !== failed.message ? { told } : {}) };
  }

  /**
   * A hash-only turn's answer from the LLM response cache (Redis in production), when it still holds
   * exactly the recorded one (same SHA-256): then a resumed run replays the turn whole. Never with
   * the cache off (the default under hash-only): the turn is then rebuilt from its event, as when
   * the entry has expired. A salted promptHash (v8) names the entry through the model and plain hash
   * the cache keeps beside it (rememberSaltedPrompt).
   */
  private async cachedTurn(t: TurnRecord, turn: number): Promise<AssistantMessage | undefined> {
    const cache = this.deps.cache;
    if (!cache || !t.redacted || this.cacheTtlMs === 0) return undefined;
    const entry = t.promptSalted ? savedPrompt(await cache.get(saltedPromptCacheKey(this.view.tenant, t.promptHash)).catch(() => undefined)) : { model: this.opts.model, promptHash: t.promptHash };
    if (!entry || !isHex32(entry.promptHash)) return undefined;
    const hit = await cache.get(responseCacheKey(this.view.tenant, entry.model, entry.promptHash)).catch(() => undefined);
    if (!hit) return undefined;
    let message: AssistantMessage;
    try {
      message = wellFormed((JSON.parse(hit) as Completion).message);
    } catch {
      return undefined;
    }
    // A salted hash (v7) is checked with its salt while the submitter's key lives; once erased, no copy matches.
    // A key store that fails stops the run, to be tried again: taken for a turn without a copy, its calls would fail for good.
    const recorded = await isRecordedResponse(this.deps.subjectKeys, this.taskId, turn, t.redacted, payloadDigest(message)).catch((err: unknown) => {
      throw this.notRecorded(err, `the replay of turn ${turn} (its salt, under the submitter's data key)`);
    });
    return recorded ? message : undefined;
  }

  /**
   * A turn just recorded under the submitter's key `kid` (v8, its promptHash salted), whose entries
   * infer and rememberSaltedPrompt put in the response cache: taken out again should the key have
   * been erased since this run read it (forgetTurnIfErased: an erasure running meanwhile may not
   * find the turn in the subject index). A cache that fails is logged, and the run goes on.
   */
  private async forgetIfErased(req: Pick<CompletionRequest, 'model' | 'temperature'>, kid: string, promptHash: string, saltedHash: string, turn: number): Promise<void> {
    const cacheDeps = { tenant: this.view.tenant, cache: this.deps.cache, cacheTtlMs: this.cacheTtlMs };
    const subjectKeys = this.deps.subjectKeys;
    if (!subjectKeys || !cachesResponses(cacheDeps, req)) return;
    const out = await forgetTurnIfErased({ tenant: this.view.tenant, cache: this.deps.cache!, subjectKeys }, { kid, model: req.model, promptHash, saltedHash }).catch((err: unknown) => {
      this.deps.logger?.warn({ err, taskId: this.taskId, turn, kid }, "the submitter's data key was erased while this turn was asked, but the turn's answer could not be taken out of the LLM response cache: it expires with LLM_CACHE_TTL_MS");
      return undefined;
    });
    if (out === 'removed') this.deps.logger?.info?.({ taskId: this.taskId, turn, kid }, "the submitter's data key was erased while this turn was asked (or the key store could not say): its answer was taken out of the LLM response cache");
  }

  /**
   * A turn whose entries infer and rememberSaltedPrompt put in the response cache, and whose
   * InferenceCompleted is not recorded, for sure (`why`: the store or the catalog refused it, and
   * the task fails; or the task ended, was taken over, or this run stopped before the append): no
   * event names those entries, so no erasure could find them, and no run resumes this turn's salt.
   * Its pointer (its own salt's) is taken out now, whatever the key's state. The answer too, a run
   * resuming the task asking the model again for the turn, unless another turn may name it: one
   * this turn was answered from (`cached`: the turn that cached it records it, or its own worker
   * takes it out), or the run that took the task over (taken over, or by a worker of a newer
   * release), which asks the very same prompt and is answered from it (its turn names it). Not after
   * an append whose outcome is unknown (unknownOutcome): it may have been recorded, and the run that
   * resumes the task finds the turn and its entries. A cache that fails is logged: they expire with
   * LLM_CACHE_TTL_MS.
   */
  private async forgetUnrecordedTurn(req: Pick<CompletionRequest, 'model' | 'temperature'>, promptHash: string, saltedHash: string, turn: number, why: unknown, cached: boolean): Promise<void> {
    const cacheDeps = { tenant: this.view.tenant, cache: this.deps.cache, cacheTtlMs: this.cacheTtlMs };
    if (!cachesResponses(cacheDeps, req)) return;
    const reason = why instanceof RunInterrupted ? why.why : why instanceof OpenMcpError ? why.code : String(why);
    const anotherRun = why instanceof RunInterrupted && (why.why === 'taken-over' || why.why === 'newer-release');
    const keepAnswer = cached || anotherRun;
    const cache = this.deps.cache!;
    const forgotten = keepAnswer ? cache.del(saltedPromptCacheKey(this.view.tenant, saltedHash)) : forgetTurnEntries(cache, this.view.tenant, { model: req.model, promptHash, saltedHash });
    await forgotten.then(
      () => this.deps.logger?.info?.({ taskId: this.taskId, turn, reason }, keepAnswer ? "a turn not recorded: its pointer was taken out of the LLM response cache (the answer is another turn's too)" : 'a turn not recorded: its answer was taken out of the LLM response cache'),
      (err: unknown) =>
        this.deps.logger?.warn(
          { err, taskId: this.taskId, turn, reason },
          keepAnswer
            ? 'a turn not recorded, its pointer could not be taken out of the LLM response cache (the answer it names is kept for another turn): no event names the pointer, so no erasure can find it; it expires with LLM_CACHE_TTL_MS'
            : 'a turn not recorded, whose answer could not be taken out of the LLM response cache: no event names it, so no erasure can find it; it expires with LLM_CACHE_TTL_MS',
        ),
    );
  }

  /**
   * A task whose submitter's key is erased, resumed: its recorded turns' entries (v8, promptHash
   * salted) taken out of the response cache (forgetSaltedPrompts), should the run that recorded one
   * have stopped before its own check (forgetIfErased), after an erasure that read the log before
   * that turn. A cache that fails is logged: they expire with LLM_CACHE_TTL_MS.
   */
  private async forgetErasedTurns(): Promise<void> {
    const cache = this.deps.cache;
    const salted = this.view.turns.flatMap((t) => (t?.promptSalted ? [t.promptHash] : []));
    if (!cache || !salted.length) return;
    const removed = await forgetSaltedPrompts(cache, this.view.tenant, salted).catch((err: unknown) => {
      this.deps.logger?.warn({ err, taskId: this.taskId }, "the submitter's data key is erased, but the task's turns could not be taken out of the LLM response cache: they expire with LLM_CACHE_TTL_MS");
      return 0;
    });
    if (removed) this.deps.logger?.info?.({ taskId: this.taskId, removed }, "the submitter's data key is erased: the task's turns left in the LLM response cache were taken out");
  }

  /**
   * The submitter's data key (the subject whose key seals the task's tool calls), under which a
   * hash-only turn's salted hash keeps its salt (InferenceCompleted v7), under MCP_PAYLOAD_POLICY=encrypted
   * only; undefined otherwise (the turn keeps the plain SHA-256, as before). A key store that fails
   * stops the run (notRecorded), to be tried again: the turn is not recorded with a plain SHA-256.
   */
  private async responseKey(): Promise<SubjectKey | undefined> {
    return this.redaction === 'hash-only' ? this.subjectKey("InferenceCompleted (the submitter's data key)") : undefined;
  }

  /**
   * The submitter's data key under MCP_PAYLOAD_POLICY=encrypted (the key that seals the task's tool
   * calls), for the salts of the digests the task's own events keep of the model's words; undefined
   * under other policies (those keep the plain SHA-256, as before). A key store that fails stops the
   * run (notRecorded: `what` could not be recorded), to be tried again, rather than record a plain SHA-256.
   */
  private async subjectKey(what: string): Promise<SubjectKey | undefined> {
    const keys = this.deps.subjectKeys;
    if ((this.deps.tools.payloadPolicy ?? 'store') !== 'encrypted' || !keys) return undefined;
    try {
      return await keys.keyFor(subjectOf(this.view.tenant, this.view.submitter ?? this.actor));
    } catch (err) {
      throw this.notRecorded(err, what);
    }
  }

  /**
   * How step `stepId`'s failure names a text of the model it withholds under hash-only (withheld):
   * under MCP_PAYLOAD_POLICY=encrypted by a salted digest, the salt sealed alone under the
   * submitter's key (TaskStepFailed v2 `errorSaltSealed`), else by its plain SHA-256 (v1).
   */
  private async withheldSlip(stepId: string, text: string): Promise<{ words: string; sealed?: { errorSaltSealed: SealedPayload } }> {
    const key = await this.subjectKey(`TaskStepFailed ${stepId} (the submitter's data key)`);
    if (!key) return { words: withheld(text) };
    const salt = newPayloadSalt();
    const { saltSealed } = sealSaltOnly(key.key, key.kid, payloadDigest(text).json, stepErrorAad(this.taskId, stepId), salt);
    return { words: withheld(text, salt), sealed: { errorSaltSealed: saltSealed } };
  }

  /**
   * The task's error as TaskFailed records it (recordedError): under MCP_PAYLOAD_POLICY=encrypted, an
   * LLM server's words it withholds are named by a salted digest, the salt sealed alone under the
   * submitter's key (v2 `errorSaltSealed`); with that key unreadable now, by no digest (never the
   * plain SHA-256, nor a salt sealed nowhere): the task fails all the same.
   */
  private async failureRecord(err: unknown): Promise<{ error: { code: string; message: string }; errorSaltSealed?: SealedPayload }> {
    const quoted = withheldServerText(err, this.redaction);
    const keys = this.deps.subjectKeys;
    if (!quoted || (this.deps.tools.payloadPolicy ?? 'store') !== 'encrypted' || !keys) return { error: recordedError(err, this.redaction) };
    try {
      const key = await keys.keyFor(subjectOf(this.view.tenant, this.view.submitter ?? this.actor));
      const salt = newPayloadSalt();
      const { saltSealed } = sealSaltOnly(key.key, key.kid, payloadDigest(quoted).json, taskErrorAad(this.taskId), salt);
      return { error: recordedError(err, this.redaction, salt), errorSaltSealed: saltSealed };
    } catch (e) {
      this.deps.logger?.warn({ err: e, taskId: this.taskId }, "the submitter's data key could not be read; the task's failure is recorded without its withheld text's digest");
      return { error: recordedError(err, this.redaction, null) };
    }
  }

  /** TaskStepFailed: v2 when it holds a sealed salt (withheldSlip), v1 otherwise, as always. */
  private appendStepFailed(data: { stepId: string; error: { code: string; message: string }; errorSaltSealed?: SealedPayload }): Promise<void> {
    return this.append('TaskStepFailed', data, data.errorSaltSealed ? 2 : 1);
  }

  /** True only when the catalog can be listed and the lookup (toolInfo) found no tool of that name (nor a chain tool). */
  private isUnknownTool(known: ToolInfo | undefined): boolean {
    return this.deps.tools.listTools !== undefined && !known;
  }

  /** A tool by either of its names (the host-safe one the model calls, or the namespaced one). */
  private toolInfo(name: string): ToolInfo | undefined {
    if (isChainToolName(name)) return this.deps.chains ? chainTools(this.deps.chains).find((t) => t.name === name) : undefined;
    const list = this.deps.tools.listTools?.(this.view.tenant) ?? [];
    return list.find((t) => canonicalName(t) === name) ?? list.find((t) => t.name === name);
  }

  /**
   * One step, exactly once. A step already finished returns its recorded end. A step started
   * but not finished (a crash in between) is run again only when that is safe: read-only and
   * idempotent tools, and transactions (which resume from their own events); otherwise it fails
   * with STEP_OUTCOME_UNKNOWN rather than risk doing a non-idempotent call twice.
   * `lookup` is the caller's toolInfo(spec.tool) when it already has it.
   */
  async step(spec: StepSpec, lookup?: { known: ToolInfo | undefined }): Promise<StepEnd> {
    await this.sync();
    // An explicit step may name a tool by its alias: recorded, budgeted and checked by policy under
    // its namespaced name all the same (a deny rule must not be dodged by calling the alias).
    let known = lookup ? lookup.known : this.toolInfo(spec.tool);
    // A tool of a server new to the catalog, registering at start (openmcp start runs tasks
    // meanwhile): looked up once its registration has settled (not only past the listings' short
    // hold, LISTING_HOLD_MS), so that an alias is still recorded, budgeted and checked by policy
    // under its namespaced name. Timed as the call would be (a stop interrupts it).
    const held = known || lookup || isChainToolName(spec.tool) ? undefined : this.deps.tools.newcomersRegistering?.();
    if (held) {
      await this.timed(held);
      known = this.toolInfo(spec.tool);
    }
    const s = known ? { ...spec, tool: canonicalName(known) } : spec;
    const existing = this.view.stepRecords.get(s.stepId);
    if (existing?.result) return { ok: existing.result, text: this.recordedText(existing.result) };
    if (existing?.failed) return { failed: existing.failed, fatal: s.source === 'steps' || FATAL.has(existing.failed.code) };
    if (isChainToolName(s.tool) && !this.deps.chains) {
      // Never sent to an MCP server's tool of the same name: the log would show a chain step that is not one.
      const failed = { code: 'CHAIN_NOT_CONFIGURED', message: `${s.tool} is the runtime's own chain tool and no chains are configured (CHAINS_FILE)` };
      await this.appendStepFailed({ stepId: s.stepId, error: failed });
      return { failed, fatal: s.source === 'steps' };
    }
    const isTx = s.tool === SEND_TRANSACTION_TOOL && !!this.deps.chains;
    const info = known;
    const nowIdempotent = info?.annotations?.readOnlyHint === true && info?.annotations?.idempotentHint === true;
    // A started step is safe to run again if it was idempotent when it started and still is. A
    // tool gone from the catalog since (its server removed, or back without it) is called again
    // all the same: the call fails with the gateway's own error (MCP_TOOL_NOT_FOUND), which says
    // what happened; STEP_OUTCOME_UNKNOWN would not.
    const idempotent = existing ? existing.idempotent && (!info || nowIdempotent) : nowIdempotent;
    if (existing && !idempotent && !isTx) {
      const failed = { code: 'STEP_OUTCOME_UNKNOWN', message: `step ${s.stepId} (${s.tool}) was started before a restart and its outcome is unknown; it is not idempotent, so it is not repeated` };
      await this.appendStepFailed({ stepId: s.stepId, error: failed });
      return { failed, fatal: true };
    }
    const salts = this.payloadSaltsOf(s);
    if (!existing) {
      const decision = evaluateToolCall(this.policy, { tool: s.tool, callsInTask: callsOf(this.view, s.tool) });
      await this.recordPolicy(s.stepId, 'tool', s.tool, decision);
      if (decision.decision !== 'allow') {
        // An explicit step's name no tool has was likely misspelt: say so, as the gateway would have (the model's names never get here).
        const meant = s.source === 'steps' && !isChainToolName(s.tool) && this.isUnknownTool(known)
          ? didYouMean((this.deps.tools.listTools?.(this.view.tenant) ?? []).map(canonicalName), s.tool)
          : undefined;
        const failed = { code: 'POLICY_DENIED', message: `policy rule ${decision.rule}: ${decision.reason}${meant ? `; no tool is named ${s.tool}: ${meant}` : ''}` };
        await this.appendStepFailed({ stepId: s.stepId, error: failed });
        return { failed, fatal: true };
      }
      const a = payloadDigest(s.args);
      const argumentsJson = keptPayload(a.json, this.argumentsPolicyOf(s));
      // The gateway seals this salt (with the arguments, or alone): the same salted hash here, erased with the submitter's key (v2).
      const salted = salts.arguments ? { argumentsHash: saltedPayloadHash(salts.arguments, a.json), argumentsHashScheme: PAYLOAD_HASH_SCHEME } : undefined;
      await this.append(
        'TaskStepStarted',
        {
          stepId: s.stepId,
          index: s.index,
          tool: s.tool,
          argumentsHash: a.hash,
          ...(argumentsJson !== undefined ? { argumentsJson } : {}),
          ...salted,
          source: s.source,
          idempotent: idempotent,
        },
        salted ? 2 : 1,
      );
    }
    let result: unknown;
    let isError = false;
    let text: string;
    try {
      if (s.tool === READ_CONTRACT_TOOL && this.deps.chains) {
        result = await this.timed(runChainRead(this.chainContext(), s));
        text = payloadDigest(result).json;
      } else if (isTx) {
        const r = await runChainTransaction(this.chainContext(), s);
        result = r;
        isError = r.status !== 'success';
        text = payloadDigest(r).json;
      } else {
        // Cancelled upstream when the task is cancelled and when the step times out (its result would be dropped).
        const timeout = AbortSignal.timeout(this.opts.stepTimeoutMs);
        const signal = AbortSignal.any([...(this.hooks.cancelled ? [this.hooks.cancelled] : []), this.pastDeadline.signal, timeout]);
        // Arguments the model wrote stay out of the gateway's audit too under LLM_REDACTION=hash-only, whatever its MCP_PAYLOAD_POLICY.
        const withheldArgs = this.modelArgumentsWithheld(s) ? { argumentsPolicy: 'hash-only' as const } : {};
        // The call is this worker's; its payloads are the submitter's data (sealed under their key under MCP_PAYLOAD_POLICY=encrypted).
        const subject = this.view.submitter ? { subject: this.view.submitter } : {};
        // The step's id goes with the call (ToolCallRequested v5): the task's view joins the step to its own call.
        const ctx = { tenant: this.view.tenant, actor: this.actor, ...subject, correlationId: this.view.correlationId, taskId: this.taskId, stepId: s.stepId, ...withheldArgs, ...(salts.arguments || salts.result ? { payloadSalts: salts } : {}) };
        // The name the policy judged: should `s.tool` resolve to another tool by now (an alias the
        // catalog gained since the lookup), the gateway refuses it rather than call what was not judged.
        const r = await this.timed(traceToolCall(s.tool, () => this.deps.tools.callTool(ctx, s.tool, s.args, { signal, decidedAs: s.tool })));
        result = r;
        isError = r.isError === true;
        text = textOf(r);
      }
    } catch (err) {
      if (err instanceof RunInterrupted) throw err;
      if (this.signal.aborted) throw new RunInterrupted('stopped');
      // The gateway's audit log unreachable (the call not forwarded, or its result withheld) is the
      // store's outage, not the tool's failure: the run stops and resumes the step by the rules for
      // one started and not ended, as when this run's own append fails (appendDone).
      if (err instanceof McpGatewayError && err.code === 'AUDIT_UNAVAILABLE' && !(err.cause instanceof OpenMcpError && !(err.cause instanceof UnavailableError))) {
        throw this.notRecorded(err.cause, `the gateway's audit of step ${s.stepId}`);
      }
      // Withheld under `encrypted` as under `hash-only`, in words naming the policy configured (as the gateway's ToolCallFailed).
      // Its withheld message's digest salted with the salt the gateway sealed for the call's ToolCallFailed (v2);
      // none when the gateway sealed it nowhere (the call failed before it was recorded, or the key was unreadable).
      const sealedSalt = salts.error && this.deps.tools.errorDigestSealed?.(salts.error) ? salts.error : undefined;
      const failed = recordedFailure(err, this.configuredPolicyOf(s.tool), sealedSalt);
      await this.appendStepFailed({ stepId: s.stepId, error: failed });
      const told = cutText((err as Error).message, 4000);
      return { failed, fatal: s.source === 'steps' || FATAL.has(failed.code), ...(told !== failed.message ? { told } : {}) };
    }
    const d = payloadDigest(result);
    const resultJson = keptPayload(d.json, this.payloadPolicyOf(s.tool));
    // The gateway sealed salts.result (with the result, or alone past 256 KiB): its salted hash (v2).
    const ok: StepOutcome = salts.result
      ? { resultHash: saltedPayloadHash(salts.result!, d.json), resultHashScheme: PAYLOAD_HASH_SCHEME, isError }
      : { resultHash: d.hash, ...(resultJson !== undefined ? { resultJson } : {}), isError };
    // Outside the call's try: the call was made, so failing to record it is not the tool's failure
    // (told to the model, it would make the call again). The run resumes the step by the rules for
    // one started and not ended (docs/agent.md).
    await this.appendDone('TaskStepCompleted', { stepId: s.stepId, ...ok }, ok.resultHashScheme ? 2 : 1);
    return { ok, text };
  }

  /**
   * Record what was done (a call made, a model turn paid for). When the store cannot take it (it is
   * unreachable: DEPENDENCY_UNAVAILABLE, or a driver's bare error; not a refusal: other
   * OpenMcpErrors fail the task), the run stops ('unrecorded') and is tried again, resuming from
   * what the log holds, rather than fail the task or act as if it had not happened.
   */
  private async appendDone(type: string, data: Record<string, unknown>, version?: number, id?: string): Promise<void> {
    await this.append(type, data, version, id).catch((err) => {
      throw this.notRecorded(err, type);
    });
  }

  /** What to throw when `what` could not be recorded (appendDone): a refusal as it is, else RunInterrupted('unrecorded'). */
  private notRecorded(err: unknown, what: string): unknown {
    if ((err instanceof OpenMcpError && !(err instanceof UnavailableError)) || err instanceof RunInterrupted) return err;
    this.deps.logger?.warn({ err, taskId: this.taskId, type: what }, 'not recorded; the run stops and is tried again');
    return new RunInterrupted('unrecorded');
  }

  /**
   * Book the tokens of the task's turns recorded before they could be booked (InferenceCompleted v6
   * `usageUnbooked`: the ledger failed), each under its event's id and on the UTC day it was
   * recorded, so at most once however many runs get here. First thing after taking the lease: the
   * task's deadline or its failure must not leave one unbooked. The ledger failing again stops the
   * run again (notRecorded), to be tried again.
   */
  private async bookUnbookedTurns(): Promise<void> {
    const budget = this.deps.tokenBudget;
    if (!budget) return;
    for (const t of this.view.turns) {
      if (!t?.unbooked || t.cached) continue;
      await budget.record(this.view.tenant, t.totalTokens, new Date(t.occurredAt), t.eventId).catch((err: unknown) => {
        throw this.notRecorded(err, 'InferenceCompleted tokens');
      });
    }
  }

  private recordedText(result: StepOutcome): string {
    if (result.resultJson === undefined) return unkeptResultText(result.resultHash, result.resultHashScheme);
    const resultJson = result.resultJson;
    try {
      // A result recorded by an earlier release may hold the escape of a lone surrogate (`\ud800`):
      // read well-formed, as a fresh result is (Upstream), or the task's output could not be recorded.
      const r = wellFormed(JSON.parse(resultJson) as ToolResult);
      if (r && typeof r === 'object' && Array.isArray(r.content)) return textOf(r);
    } catch {
      /* recorded as is */
    }
    return resultJson;
  }

  /** Race a step's work against the step timeout (the work itself cannot be aborted: it is abandoned). */
  async timed<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new AgentError('STEP_TIMEOUT', `step did not finish within ${this.opts.stepTimeoutMs} ms (AGENT_STEP_TIMEOUT_MS)`)), this.opts.stepTimeoutMs);
    });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, rej) => {
      if (this.signal.aborted) rej(new RunInterrupted('stopped'));
      onAbort = () => rej(new RunInterrupted('stopped'));
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([p, t, aborted]);
    } finally {
      clearTimeout(timer);
      // One listener per step otherwise, on the run's signal for the whole run.
      this.signal.removeEventListener('abort', onAbort!);
    }
  }

  private chainContext() {
    return {
      deps: this.deps,
      opts: this.opts,
      policy: this.policy,
      policyName: policyName(this.policy),
      view: () => this.view,
      now: () => this.now(),
      signal: this.signal,
      append: (type: string, data: Record<string, unknown>, version?: number) => this.append(type, data, version),
      appendDone: (type: string, data: Record<string, unknown>) => this.appendDone(type, data),
      appendDecided: (decide: (v: TaskView) => { type: string; data: Record<string, unknown> } | undefined) => this.appendDecided(decide),
      recordPolicy: (stepId: string, subject: 'tool' | 'contract-read' | 'transaction', tool: string, d: PolicyDecision, proposalHash?: string) => this.recordPolicy(stepId, subject, tool, d, proposalHash),
      sync: () => this.sync(),
      waitForChange: (ms: number) => this.hooks.waitForChange(ms),
      timed: <T>(p: Promise<T>) => this.timed(p),
    };
  }

  private async recordPolicy(stepId: string, subject: 'tool' | 'contract-read' | 'transaction', tool: string, d: PolicyDecision, proposalHash?: string): Promise<void> {
    const prev = this.view.policy.get(`${stepId}:${subject}`);
    // Only an entry of POLICY_FILE has versions; the built-in default (`default`) is fixed, and its decisions stay v1.
    const policyHash = decisionVersion(this.policy);
    // The same decision under another version of the entry (a restart with a changed file) is recorded
    // again: the log then says which file the step went on under, not only the one it was first decided by.
    if (prev && prev.decision === d.decision && prev.rule === d.rule && prev.proposalHash === proposalHash && prev.policyHash === policyHash) return;
    await this.append('PolicyEvaluated', {
      stepId,
      subject,
      tool,
      decision: d.decision,
      rule: d.rule,
      reason: cutText(d.reason, 2000),
      ...(proposalHash ? { proposalHash } : {}),
      policy: policyName(this.policy),
      ...(policyHash ? { policyHash } : {}),
    }, policyHash ? 2 : 1);
  }

  /** Read what others appended since our last revision (approvals, cancel). */
  async sync(): Promise<TaskView> {
    // A run that outlived its task (e.g. past AGENT_TASK_TIMEOUT_MS, whose TaskFailed is already
    // recorded) stops at its next step: no more polling, no lease renewal.
    if (isTerminal(this.view)) throw new RunInterrupted('ended');
    await this.serialized(async () => {
      const newer = await this.deps.store.readStream(this.stream, { fromRevision: this.view.lastRevision + 1 });
      for (const e of newer) {
        this.admit(e);
        if (RUNNER_TYPES.has(e.type)) throw new RunInterrupted('taken-over');
        applyTaskEvent(this.view, e);
      }
    });
    if (this.view.status === 'cancelled') throw new RunInterrupted('cancelled');
    await this.keepLease();
    return this.view;
  }

  /** Append one runtime event at our revision; a conflict with others' approvals/cancel re-reads and retries. `id`: the event's id when the caller needs it beforehand. */
  private async append(type: string, data: Record<string, unknown>, version?: number, id?: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.signal.aborted) throw new RunInterrupted('stopped');
      try {
        return await this.appendAt(type, data, version, id);
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError) || attempt >= 10) throw err;
        await this.sync();
      }
    }
  }

  /**
   * Decide on the view and append what `decide` gives at its revision, in one serialized turn (no
   * read applies others' events in between, so the event never rests on a view it did not see).
   * A conflict re-reads and decides again, like handleCommand.
   */
  private async appendDecided(decide: (v: TaskView) => { type: string; data: Record<string, unknown> } | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.signal.aborted) throw new RunInterrupted('stopped');
      try {
        return await this.serialized(async () => {
          const draft = decide(this.view);
          if (draft) await this.appendNow(draft.type, draft.data);
        });
      } catch (err) {
        if (!(err instanceof WrongExpectedRevisionError) || attempt >= 10) throw err;
        await this.sync();
      }
    }
  }

  /**
   * One append at the revision we know; throws WrongExpectedRevisionError when the stream moved.
   * `version`: the event version to write (default the latest; for a type whose later version is written only when needed, the caller says which).
   */
  private appendAt(type: string, data: Record<string, unknown>, version?: number, id?: string): Promise<void> {
    return this.serialized(() => this.appendNow(type, data, version, id));
  }

  private async appendNow(type: string, data: Record<string, unknown>, writeVersion?: number, id?: string): Promise<void> {
    // Nothing follows TaskCompleted or TaskFailed: a step still running when the task ended (its
    // deadline passed) records no call and no transaction, and a signed one is never broadcast
    // (TransactionSubmitted is recorded before the broadcast).
    if (isTerminal(this.view)) throw new RunInterrupted('ended');
    const { catalog, store } = this.deps;
    const version = writeVersion ?? catalog.latestVersion(type);
    const e = createEvent(
      { id, type, version, stream: this.stream, tenant: this.view.tenant, actor: this.actor, correlationId: this.view.correlationId, data: catalog.validate(type, version, data) },
      this.deps.clock,
    );
    const res = await store.append(this.stream, [e], { expectedRevision: this.view.lastRevision });
    for (const r of res.events) applyTaskEvent(this.view, r);
  }

  private async command(command: TaskCommand): Promise<void> {
    if (this.signal.aborted) throw new RunInterrupted('stopped');
    await this.sync();
    // Decided on our own view and appended at our revision (not re-read): a lifecycle event must
    // not land after another worker has taken the task over.
    const state = { status: this.view.status, stepCount: this.view.steps?.length ?? 0 };
    for (const draft of taskDecider.decide(command, state)) await this.append(draft.type, draft.data as Record<string, unknown>, draft.version);
  }
}

/**
 * Whether an append that threw (appendDone) may have been recorded all the same: the store's
 * answer lost (RunInterrupted 'unrecorded': an outage, or a driver's bare error, possibly after its
 * commit): the run stops and is tried again. Anything else is a "not recorded" the run acts on: a
 * refusal (an OpenMcpError other than DEPENDENCY_UNAVAILABLE: the catalog's validation,
 * EVENT_TOO_LARGE, a conflict still there after the retries; the task fails), or the run
 * interrupted before its attempt (the task ended, cancelled, taken over; stopped). (KurrentDB's
 * KURRENTDB_FAILED on reading back an append it took is a refusal too: the task fails all the same,
 * and the turn's entries going costs no more than a later miss.)
 */
function unknownOutcome(err: unknown): boolean {
  return err instanceof RunInterrupted && err.why === 'unrecorded';
}

/** A model answer the log cannot hold whole (InferenceCompleted v2 with responseOmitted). */
function responseTooLarge(turn: number, chars: number): AgentError {
  return new AgentError(
    'LLM_RESPONSE_TOO_LARGE',
    `the model's answer in turn ${turn} is ${chars} characters of JSON, too large to record whole (a turn keeps at most ${INFERENCE_RESPONSE_JSON_MAX} characters, and its event at most ${MAX_EVENT_BYTES} bytes); its SHA-256, length and first characters are in InferenceCompleted.responseOmitted. Lower LLM_MAX_TOKENS or ask for a shorter answer`,
  );
}

/** A final answer whose sealed copy (TaskCompleted v2 `sealedAnswer`, and the turn's InferenceCompleted) the log cannot hold. */
function sealedAnswerTooLarge(turn: number, ciphertextChars: number): AgentError {
  return new AgentError(
    'LLM_RESPONSE_TOO_LARGE',
    `the model's answer in turn ${turn} is too large to record sealed to the task's answerRecipient: its ciphertext is ${ciphertextChars} characters of hex (two per byte of its UTF-8), and an event holds at most ${MAX_EVENT_BYTES} bytes; its SHA-256 and length are in InferenceCompleted.responseRedacted. Lower LLM_MAX_TOKENS or ask for a shorter answer`,
  );
}

/**
 * Step ids of one turn's tool calls: `turn-<n>-<callId>`. Some OpenAI-compatible servers give
 * every call of a turn the same id (or none): a repeat gets its index too, so each call is its
 * own step (with the same id, the second would have been answered with the first's result).
 * Derived from the recorded response alone, so a resumed run finds the same ids.
 */
function stepIdsOf(turn: number, calls: { id: string }[]): string[] {
  const seen = new Set<string>();
  return calls.map((call, i) => {
    let id = cutText(`turn-${turn}-${call.id}`, 200);
    for (let k = 0; seen.has(id); k++) id = cutText(`turn-${turn}-${i}${k ? `.${k}` : ''}-${call.id}`, 200);
    seen.add(id);
    return id;
  });
}

/**
 * Why a turn without tool calls is not the task's answer: it was cut off (finish_reason `length`: a
 * partial answer must not be signed as the task's output) or withheld by the provider's filter
 * (`content_filter`). Undefined when it is the answer.
 */
function answerRefusal(finishReason: string, maxTokens: number): AgentError | undefined {
  if (finishReason === 'length') return new AgentError('LLM_OUTPUT_TRUNCATED', `the model's answer was cut off at LLM_MAX_TOKENS=${maxTokens} tokens (finish_reason length); raise LLM_MAX_TOKENS or ask for a shorter answer`);
  if (finishReason === 'content_filter') return new AgentError('LLM_CONTENT_FILTERED', "the provider's content filter withheld the model's answer (finish_reason content_filter)");
  return undefined;
}

/** The model's final answer, unless answerRefusal refuses it. */
function finalAnswer(message: { content: string | null }, finishReason: string, maxTokens: number): string {
  const refused = answerRefusal(finishReason, maxTokens);
  if (refused) throw refused;
  return message.content ?? '';
}

/** Failures that end the task even when the model asked for the step (it must not talk its way around them). */
const FATAL = new Set(['POLICY_DENIED', 'APPROVAL_REJECTED', 'APPROVAL_TIMEOUT', 'STEP_OUTCOME_UNKNOWN', 'TX_DROPPED', 'TX_PENDING']);
