import type { RecordedEvent } from '../../core/envelope';
import { parseStream } from '../../core/envelope';
import type { CheckpointStore } from '../../checkpoints/port';
import { MemoryCheckpointStore } from '../../checkpoints/memory-checkpoint-store';
import type { Subscription } from '../../eventstore/port';
import { defaultRuntimeOptions, type AgentRuntimeDependencies, type AgentRuntimeOptions } from './runtime-deps';
import { TaskRun } from './task-run';

const WAKE_TYPES = new Set(['ApprovalGranted', 'ApprovalRejected', 'TaskCancelled']);
const END_TYPES = new Set(['TaskCompleted', 'TaskFailed', 'TaskCancelled']);

type Running = { controller: AbortController; done: Promise<void>; wakers: Set<() => void> };

/**
 * The agent runtime: a process manager over the event log. It follows the log (subscribeAll
 * from its checkpoint), runs every TaskSubmitted task (TaskRun), and wakes runs waiting for an
 * approval; a TaskCancelled aborts the run in flight.
 *
 * Resume: the checkpoint never passes the TaskSubmitted of a task still open here, so after a
 * crash the subscription replays it and the task resumes from its own events.
 *
 * @example
 * const rt = new AgentRuntime({ store, catalog, tools: gateway, policy, privateKey }, { model: 'gpt-4o-mini' }, checkpoints);
 * await rt.start(); … await rt.stop();
 */
export class AgentRuntime {
  readonly options: AgentRuntimeOptions;
  private readonly checkpoints: CheckpointStore;
  private sub?: Subscription;
  private loop?: Promise<void>;
  private readonly running = new Map<string, Running>();
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  /** TaskSubmitted position of each task we have seen open. */
  private readonly open = new Map<string, number>();
  private lastSeen = -1;
  private dead = false;
  private savedAt = -1;
  private savedWhen = 0;
  private trailing?: NodeJS.Timeout;

  constructor(private readonly deps: AgentRuntimeDependencies, options: Partial<AgentRuntimeOptions> = {}, checkpoints?: CheckpointStore) {
    this.options = { ...defaultRuntimeOptions, ...options };
    this.checkpoints = checkpoints ?? new MemoryCheckpointStore();
  }

  async start(): Promise<void> {
    if (this.sub) return;
    this.dead = false;
    const after = await this.checkpoints.load(this.options.checkpointName);
    this.lastSeen = after ?? -1;
    this.sub = this.deps.store.subscribeAll(after === undefined ? {} : { after });
    const sub = this.sub;
    this.loop = (async () => {
      try {
        for await (const e of sub) {
          if (this.dead) break;
          this.onEvent(e);
        }
      } catch (err) {
        if (!this.dead) this.deps.logger?.error?.({ err }, 'agent runtime subscription ended');
      }
    })();
  }

  /**
   * Stop following the log and interrupt the runs in flight without writing anything more;
   * they resume on the next start. Saves the checkpoint.
   */
  async stop(): Promise<void> {
    await this.halt();
    await this.saveCheckpoint(true);
  }

  /** Like a crash (for tests): interrupt everything, save nothing. */
  async kill(): Promise<void> {
    await this.halt();
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
    clearTimeout(this.trailing);
    this.trailing = undefined;
    for (const r of this.running.values()) {
      r.controller.abort(new Error('runtime stopped'));
      for (const w of r.wakers) w();
    }
    await this.sub?.close().catch(() => {});
    await this.loop;
    await Promise.all([...this.running.values()].map((r) => r.done));
    this.sub = undefined;
    this.queue.length = 0;
    this.queued.clear();
  }

  private onEvent(e: RecordedEvent): void {
    this.lastSeen = e.position;
    if (e.stream.startsWith('task-')) {
      const taskId = parseStream(e.stream).id;
      if (e.type === 'TaskSubmitted') {
        this.open.set(taskId, e.position);
        this.enqueue(taskId);
      } else if (END_TYPES.has(e.type)) {
        this.open.delete(taskId);
      }
      if (WAKE_TYPES.has(e.type)) {
        const r = this.running.get(taskId);
        if (r) {
          if (e.type === 'TaskCancelled') r.controller.abort(new Error('task cancelled'));
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

  private pump(): void {
    while (!this.dead && this.running.size < this.options.concurrency && this.queue.length) {
      const taskId = this.queue.shift()!;
      this.queued.delete(taskId);
      this.launch(taskId);
    }
  }

  private launch(taskId: string): void {
    const controller = new AbortController();
    const wakers = new Set<() => void>();
    const waitForChange = (ms: number) =>
      new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          wakers.delete(done);
          resolve();
        };
        const t = setTimeout(done, ms);
        wakers.add(done);
      });
    const run = new TaskRun(this.deps, this.options, taskId, controller.signal, { waitForChange });
    const entry: Running = { controller, wakers, done: Promise.resolve() };
    entry.done = run
      .run()
      .catch((err) => {
        this.deps.logger?.error?.({ err, taskId }, 'task run crashed');
        return 'interrupted' as const;
      })
      .then((outcome) => {
        this.running.delete(taskId);
        // An interrupted task keeps holding the checkpoint back, so the next start resumes it.
        if (outcome === 'ended') this.markEnded(taskId);
        this.pump();
      });
    this.running.set(taskId, entry);
  }

  /** A run that returned on its own has a terminal task (or one another runner owns): it no longer holds the checkpoint back. */
  private markEnded(taskId: string): void {
    if (this.dead) return;
    this.open.delete(taskId);
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
