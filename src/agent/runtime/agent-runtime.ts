import type { RecordedEvent } from '../../core/envelope';
import { parseStream } from '../../core/envelope';
import type { CheckpointStore } from '../../checkpoints/port';
import { MemoryCheckpointStore } from '../../checkpoints/memory-checkpoint-store';
import { followLog, type LogFollower } from '../../eventstore/follow-log';
import { defaultRuntimeOptions, type AgentRuntimeDependencies, type AgentRuntimeOptions } from './runtime-deps';
import { withEventContext } from '../../telemetry/component-spans';
import { withSpan } from '../../telemetry/with-span';
import { TaskRun } from './task-run';

const WAKE_TYPES = new Set(['ApprovalGranted', 'ApprovalRejected', 'TaskCancelled']);
const END_TYPES = new Set(['TaskCompleted', 'TaskFailed', 'TaskCancelled']);

type Running = { run: TaskRun; controller: AbortController; cancel: AbortController; done: Promise<void>; wakers: Set<() => void> };

/**
 * The agent runtime: a process manager over the event log. It follows the log (subscribeAll
 * from its checkpoint), runs every TaskSubmitted task (TaskRun), and wakes runs waiting for an
 * approval; a TaskCancelled aborts the run in flight.
 *
 * Resume: the checkpoint never passes the TaskSubmitted of a task still open here, so after a
 * crash the subscription replays it and the task resumes from its own events.
 *
 * Many workers: every runtime sees every task; a lease per task (TaskLeased, see TaskRun)
 * decides which one runs it. The others keep the task open and look again when the lease
 * expires or is handed back, so a task whose worker died is taken over.
 *
 * Rolling upgrades: a task whose stream holds an event of a newer release (a version or type this
 * release does not know) is not acted on: its run takes no lease (or stops writing, renewing
 * nothing, when the event lands mid-run), the task is not failed, the worker logs it once as an
 * error and only watches it (every AGENT_TASK_LEASE_MS) until a worker of that release ends it.
 *
 * @example
 * const rt = new AgentRuntime({ store, catalog, tools: gateway, policy, privateKey }, { model: 'gpt-4o-mini' }, checkpoints);
 * await rt.start(); … await rt.stop();
 */
export class AgentRuntime {
  readonly options: AgentRuntimeOptions;
  private readonly checkpoints: CheckpointStore;
  /** Follows the log from the checkpoint, subscribing again when the subscription fails (followLog). */
  private follower?: LogFollower;
  private readonly running = new Map<string, Running>();
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  /** TaskSubmitted position of each task we have seen open. */
  private readonly open = new Map<string, number>();
  /** TaskSubmitted event id of each open task: its run continues the submitting request's trace. */
  private readonly submittedIds = new Map<string, string>();
  private lastSeen = -1;
  private dead = false;
  private savedAt = -1;
  private savedWhen = 0;
  private trailing?: NodeJS.Timeout;
  /** Tasks another worker holds, or whose run gave up on an error: when to look again. */
  private readonly held = new Map<string, NodeJS.Timeout>();
  /** Tasks whose stream holds an event of a newer release, already logged (once per task). */
  private readonly newerLogged = new Set<string>();
  /** Runs in a row of a task that ended on an error, not a stop (the store unreachable): the next one waits longer. */
  private readonly failedRuns = new Map<string, number>();
  private accepting = false;
  /** Runs waiting for a human (an approval): they hold no slot of AGENT_CONCURRENCY meanwhile. */
  private parked = 0;
  /** Runs back from such a wait, waiting for a slot (served before new tasks). */
  private readonly slotWaiters: (() => void)[] = [];

  constructor(private readonly deps: AgentRuntimeDependencies, options: Partial<AgentRuntimeOptions> = {}, checkpoints?: CheckpointStore) {
    this.options = { ...defaultRuntimeOptions, ...options };
    this.checkpoints = checkpoints ?? new MemoryCheckpointStore();
  }

  async start(): Promise<void> {
    if (this.follower) return;
    this.dead = false;
    this.accepting = true;
    const after = await this.checkpoints.load(this.options.checkpointName);
    this.lastSeen = after ?? -1;
    this.follower = followLog(this.deps.store, {
      after,
      onEvent: (e) => {
        if (!this.dead) this.onEvent(e);
      },
      onFailure: (err, at, retryInMs) => this.deps.logger?.warn({ err, after: at, retryInMs }, 'agent runtime subscription ended; following the log again'),
    });
  }

  /**
   * Drain: stop taking tasks, give the runs in flight up to `graceMs` to finish, then interrupt
   * the rest and hand their leases back (TaskLeaseReleased) so another worker takes them at
   * once; they resume from their events. Saves the checkpoint.
   */
  async stop(graceMs = 0): Promise<void> {
    this.accepting = false;
    this.clearHeld();
    if (graceMs > 0 && this.running.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all([...this.running.values()].map((r) => r.done)), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    const interrupted = [...this.running.values()].map((r) => r.run);
    await this.halt();
    await Promise.all(interrupted.map((r) => r.release()));
    await this.saveCheckpoint(true);
  }

  /** Like a crash (for tests): interrupt everything, save nothing, keep the leases (they expire). */
  async kill(): Promise<void> {
    this.accepting = false;
    await this.halt();
  }

  /** Tasks this worker watches: held by another worker, or waiting to be tried again after a run ended on an error. */
  heldTasks(): string[] {
    return [...this.held.keys()];
  }

  private clearHeld(): void {
    for (const t of this.held.values()) clearTimeout(t);
    this.held.clear();
  }

  /** Tasks being run now (ids). */
  activeTasks(): string[] {
    return [...this.running.keys()];
  }

  /** Resolves when the task's run (if any) ends. */
  async settled(taskId: string): Promise<void> {
    await this.running.get(taskId)?.done;
  }

  private async halt(): Promise<void> {
    this.dead = true;
    this.clearHeld();
    clearTimeout(this.trailing);
    this.trailing = undefined;
    for (const r of this.running.values()) {
      r.controller.abort(new Error('runtime stopped'));
      for (const w of r.wakers) w();
    }
    await this.follower?.stop();
    await Promise.all([...this.running.values()].map((r) => r.done));
    this.follower = undefined;
    this.queue.length = 0;
    this.queued.clear();
  }

  private onEvent(e: RecordedEvent): void {
    this.lastSeen = e.position;
    if (e.stream.startsWith('task-')) {
      const taskId = parseStream(e.stream).id;
      if (e.type === 'TaskSubmitted') {
        this.open.set(taskId, e.position);
        this.submittedIds.set(taskId, e.id);
        this.enqueue(taskId);
      } else if (END_TYPES.has(e.type)) {
        // A run that stopped on an error is still tried again (watch), once more: the task may hold
        // a model turn whose tokens are not booked yet (InferenceCompleted v6), which that run books
        // (TaskRun: a finished task's turns) before the task is let go.
        if (this.failedRuns.has(taskId) && this.held.has(taskId) && !this.running.has(taskId)) return void this.saveCheckpoint(false);
        this.open.delete(taskId);
        this.submittedIds.delete(taskId);
        this.failedRuns.delete(taskId);
        this.newerLogged.delete(taskId);
        clearTimeout(this.held.get(taskId));
        this.held.delete(taskId);
      } else if (e.type === 'TaskLeaseReleased' && this.held.has(taskId)) {
        clearTimeout(this.held.get(taskId));
        this.held.delete(taskId);
        this.enqueue(taskId);
      }
      if (WAKE_TYPES.has(e.type)) {
        const r = this.running.get(taskId);
        if (r) {
          if (e.type === 'TaskCancelled') {
            r.cancel.abort(new Error('task cancelled'));
            r.controller.abort(new Error('task cancelled'));
          }
          for (const w of r.wakers) w();
        }
      }
    }
    void this.saveCheckpoint(false);
  }

  private enqueue(taskId: string): void {
    if (this.running.has(taskId) || this.queued.has(taskId)) return;
    this.queue.push(taskId);
    this.queued.add(taskId);
    this.pump();
  }

  /** Runs at work: running, less those waiting for a human. */
  private busy(): number {
    return this.running.size - this.parked;
  }

  private pump(): void {
    // Runs back from a wait first: they were at work before the queued tasks.
    while (this.slotWaiters.length && this.busy() < this.options.concurrency) this.slotWaiters.shift()!();
    while (!this.dead && this.accepting && this.busy() < this.options.concurrency && this.queue.length) {
      const taskId = this.queue.shift()!;
      this.queued.delete(taskId);
      this.launch(taskId);
    }
  }

  private launch(taskId: string): void {
    const controller = new AbortController();
    const cancel = new AbortController();
    const wakers = new Set<() => void>();
    const parked = { now: false };
    // Only a wait for a human (an approval) goes through here: it gives its slot to other tasks
    // (otherwise AGENT_CONCURRENCY transfers held for approval stopped the worker for up to
    // AGENT_TASK_TIMEOUT_MS), and takes one back before the run goes on.
    const waitForChange = async (ms: number) => {
      parked.now = true;
      this.parked++;
      this.pump();
      try {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(t);
            wakers.delete(done);
            resolve();
          };
          const t = setTimeout(done, ms);
          wakers.add(done);
        });
      } finally {
        await this.unpark(controller.signal, parked);
      }
    };
    const run = new TaskRun(this.deps, this.options, taskId, controller.signal, { waitForChange, cancelled: cancel.signal });
    const entry: Running = { run, controller, cancel, wakers, done: Promise.resolve() };
    const submitted = this.submittedIds.get(taskId);
    const traced = () => withSpan('agent.task run', { attributes: { 'openmcp.task_id': taskId, 'openmcp.worker': this.options.worker } }, () => run.run());
    entry.done = (submitted ? withEventContext(this.deps.traceContexts, submitted, traced) : traced())
      .catch((err) => {
        this.deps.logger?.error?.({ err, taskId }, 'task run crashed');
        return 'interrupted' as const;
      })
      .then((outcome) => {
        this.running.delete(taskId);
        const failures = outcome === 'interrupted' && !controller.signal.aborted ? (this.failedRuns.get(taskId) ?? 0) + 1 : 0;
        if (failures) this.failedRuns.set(taskId, failures);
        else this.failedRuns.delete(taskId);
        // A wait the run left behind (its task timed out during an approval wait) no longer counts as parked, and ends now.
        this.leavePark(parked);
        for (const w of wakers) w();
        // An interrupted task keeps holding the checkpoint back, so the next start resumes it.
        if (outcome === 'ended') this.markEnded(taskId);
        else if (outcome === 'held') this.watch(taskId, run.heldUntil);
        // Left to a worker of the newer release, but kept open here (the checkpoint stays before it):
        // looked at again a lease later, and run by this worker once it is upgraded and restarted.
        else if (outcome === 'newer') {
          this.logNewer(taskId, run);
          this.watch(taskId, this.nowMs() + this.options.leaseMs);
        }
        // Interrupted by an error, not by a stop or a cancel (the store unreachable, its end not
        // recorded): tried again, 1 s after the first time and doubling up to the lease time, so the
        // task does not sit open until the worker restarts. It resumes from its events (no step twice).
        else if (failures) this.watch(taskId, this.nowMs() + Math.min(1_000 * 2 ** (failures - 1), this.options.leaseMs));
        this.pump();
      });
    this.running.set(taskId, entry);
  }

  /** Once per task: loud, since only an upgrade (or a worker of the newer release) gets such a task done. */
  private logNewer(taskId: string, run: TaskRun): void {
    if (this.newerLogged.has(taskId)) return;
    this.newerLogged.add(taskId);
    const e = run.fromNewerRelease;
    this.deps.logger?.error?.(
      { taskId, code: e?.code, eventId: e?.event.id, type: e?.event.type, version: e?.event.version, latestVersion: e?.latestVersion, worker: this.options.worker },
      'task stream holds an event of a newer release: this worker does not act on the task (not failed, no lease taken or renewed); a worker of that release takes it. Upgrade this worker',
    );
  }

  /** Back from a wait: take a slot, now if one is free, else when one frees (at once when the run is stopped or cancelled). */
  private unpark(signal: AbortSignal, parked: { now: boolean }): Promise<void> {
    return new Promise((resolve) => {
      const go = () => {
        signal.removeEventListener('abort', go);
        const i = this.slotWaiters.indexOf(go);
        if (i >= 0) this.slotWaiters.splice(i, 1);
        this.leavePark(parked);
        resolve();
      };
      if (this.dead || signal.aborted || this.busy() < this.options.concurrency) return go();
      this.slotWaiters.push(go);
      signal.addEventListener('abort', go, { once: true });
    });
  }

  private leavePark(parked: { now: boolean }): void {
    if (!parked.now) return;
    parked.now = false;
    this.parked--;
  }

  private nowMs(): number {
    return this.deps.clock ? this.deps.clock().getTime() : Date.now();
  }

  /** Look at a task again at `until` (a little after, spread out): when the lease another worker holds expires, or to retry a failed run. */
  private watch(taskId: string, until: number): void {
    if (this.dead || !this.accepting) return;
    const now = this.nowMs();
    const ms = Math.min(Math.max(until - now, 0), this.options.leaseMs) + 50 + Math.floor(Math.random() * 200);
    clearTimeout(this.held.get(taskId));
    this.held.set(
      taskId,
      setTimeout(() => {
        this.held.delete(taskId);
        if (this.open.has(taskId)) this.enqueue(taskId);
      }, ms).unref(),
    );
  }

  /** A run that returned on its own has a terminal task (or one another runner owns): it no longer holds the checkpoint back. */
  private markEnded(taskId: string): void {
    if (this.dead) return;
    this.open.delete(taskId);
    this.submittedIds.delete(taskId);
    void this.saveCheckpoint(false);
  }

  /** The checkpoint: just before the oldest open task's TaskSubmitted, else the last event seen. */
  private checkpointPosition(): number {
    let min = this.lastSeen;
    for (const p of this.open.values()) min = Math.min(min, p - 1);
    return min;
  }

  private async saveCheckpoint(force: boolean): Promise<void> {
    if (this.dead && !force) return;
    const pos = this.checkpointPosition();
    if (pos < 0 || pos === this.savedAt) return;
    // At most one write a second while following the log: a stale checkpoint only means a
    // longer (harmless) replay after a crash.
    if (!force && Date.now() - this.savedWhen < 1_000) {
      this.trailing ??= setTimeout(() => {
        this.trailing = undefined;
        void this.saveCheckpoint(false);
      }, 1_000).unref();
      return;
    }
    this.savedAt = pos;
    this.savedWhen = Date.now();
    await this.checkpoints.save(this.options.checkpointName, pos).catch((err) => this.deps.logger?.warn({ err }, 'agent checkpoint not saved'));
  }
}
