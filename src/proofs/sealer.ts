import { createEvent, type RecordedEvent } from '../core/envelope';
import { WrongExpectedRevisionError } from '../core/errors';
import type { Hex } from '../core/hex';
import type { EventStore } from '../eventstore/port';
import { AUDIT_TENANT, BATCH_STREAM, BOOKKEEPING_TYPES, SEALER_ACTOR } from '../../events/audit-streams';
import { ZERO_ROOT } from './batch-head';
import { BatchLog, type SealedBatch } from './batch-log';
import { sealBatch } from './seal-batch';

export type SealerOptions = {
  sealerKey: Hex;
  /** Seal when a batch reaches this many events (BATCH_MAX_EVENTS). */
  maxEvents: number;
  /** …or when its oldest event has waited this long (BATCH_MAX_SECONDS × 1000). */
  maxWaitMs: number;
  pollIntervalMs?: number;
  /** Called with each batch this sealer wrote. */
  onSealed?: (batch: SealedBatch) => void;
  onError?: (err: unknown) => void;
  now?: () => number;
};

export type Sealer = {
  /** One step: read what is new, seal if a batch is due. Returns the batch sealed, if any. */
  tick(): Promise<SealedBatch | undefined>;
  /** Seal whatever is pending now (ignores the size and time triggers). */
  flush(): Promise<SealedBatch | undefined>;
  /** Run tick() in the background until stop(). */
  start(): void;
  /** Stop the background loop after its current step. */
  stop(): Promise<void>;
};

type SealerState = { nextBatchId: number; nextSeq: number; after: number | undefined; prevRoot: Hex };

async function loadState(log: BatchLog): Promise<SealerState> {
  const batches = await log.sealedBatches();
  const last = batches[batches.length - 1];
  if (!last) return { nextBatchId: 0, nextSeq: 0, after: undefined, prevRoot: ZERO_ROOT };
  return { nextBatchId: last.batchId + 1, nextSeq: last.lastSeq + 1, after: last.lastPosition, prevRoot: last.root as Hex };
}

/**
 * Create a sealer over the global log. Its whole state is derived from the batch stream, so a
 * restart (or a second sealer) resumes exactly after the last sealed batch. Batch n is appended
 * with expectedRevision n-1: a concurrent or replayed seal of the same range loses with
 * WrongExpectedRevisionError and re-reads, so no seq is sealed twice and none is skipped.
 *
 * A batch holding only BatchSealed/BatchAnchored events is not sealed on time alone, or an idle
 * log would seal its own bookkeeping forever; it waits for another event or for maxEvents.
 */
export function createSealer(store: EventStore, opts: SealerOptions, log = new BatchLog(store)): Sealer {
  const now = opts.now ?? Date.now;
  let state: SealerState | undefined;
  let pending: RecordedEvent[] = [];
  let pendingSince = 0;

  async function ensureState(): Promise<SealerState> {
    state ??= await loadState(log);
    return state;
  }

  async function readNew(s: SealerState): Promise<void> {
    const room = opts.maxEvents - pending.length;
    if (room <= 0) return;
    const cursor = pending.length ? pending[pending.length - 1].position : s.after;
    const page = await store.readAll({ after: cursor, limit: Math.min(room, 1000) });
    if (page.length && !pending.length) pendingSince = now();
    pending.push(...page);
  }

  async function seal(s: SealerState): Promise<SealedBatch | undefined> {
    if (!pending.length) return undefined;
    const { data } = sealBatch({ batchId: s.nextBatchId, firstSeq: s.nextSeq, prevRoot: s.prevRoot, events: pending, sealerKey: opts.sealerKey });
    const event = createEvent({ type: 'BatchSealed', stream: BATCH_STREAM, tenant: AUDIT_TENANT, actor: SEALER_ACTOR, data });
    try {
      await store.append(BATCH_STREAM, [event], { expectedRevision: s.nextBatchId === 0 ? 'no_stream' : s.nextBatchId - 1 });
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      // Someone else sealed this batch id: drop our view and resume after theirs.
      pending = [];
      state = undefined;
      return undefined;
    }
    pending = [];
    state = { nextBatchId: data.batchId + 1, nextSeq: data.lastSeq + 1, after: data.lastPosition, prevRoot: data.root as Hex };
    const sealed: SealedBatch = { ...data, sealedAt: event.occurredAt, eventId: event.id };
    opts.onSealed?.(sealed);
    return sealed;
  }

  async function tick(): Promise<SealedBatch | undefined> {
    const s = await ensureState();
    await readNew(s);
    if (pending.length >= opts.maxEvents) return seal(s);
    const due = pending.length > 0 && now() - pendingSince >= opts.maxWaitMs;
    if (due && pending.some((e) => !BOOKKEEPING_TYPES.has(e.type))) return seal(s);
    return undefined;
  }

  async function flush(): Promise<SealedBatch | undefined> {
    const s = await ensureState();
    await readNew(s);
    return seal(s);
  }

  let stopped = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  return {
    tick,
    flush,
    start() {
      loop ??= run();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };

  async function run(): Promise<void> {
    let delay = opts.pollIntervalMs ?? 200;
    while (!stopped) {
      try {
        // Keep sealing while full batches are waiting; otherwise sleep one poll interval.
        const sealed = await tick();
        delay = sealed ? 0 : (opts.pollIntervalMs ?? 200);
      } catch (err) {
        opts.onError?.(err);
        state = undefined;
        pending = [];
        delay = Math.min(Math.max(delay * 2, 100), 10_000);
      }
      if (delay > 0 && !stopped) await new Promise<void>((r) => { wake = r; setTimeout(r, delay); });
    }
  }
}

/**
 * Start sealing in the background. `stop()` waits for the current step to finish; a step cut
 * short by a crash leaves nothing behind (the append is the only write).
 * @example const sealer = startSealer(store, { sealerKey, maxEvents: 1000, maxWaitMs: 10_000 })
 */
export function startSealer(store: EventStore, opts: SealerOptions, log?: BatchLog): Sealer {
  const sealer = createSealer(store, opts, log);
  sealer.start();
  return sealer;
}
