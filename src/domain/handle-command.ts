import { createEvent, type Actor, type RecordedEvent } from '../core/envelope';
import { NotFoundError, WrongExpectedRevisionError } from '../core/errors';
import type { Clock } from '../core/clock';
import type { EventCatalog } from '../../events/catalog';
import type { EventStore } from '../eventstore/port';
import type { Decider, EventDraft } from './decider';

export type CommandMetadata = {
  tenant: string;
  actor: Actor;
  correlationId?: string;
  causationId?: string;
};

export type HandleCommandParameters<TState, TCommand> = {
  decider: Decider<TState, TCommand, EventDraft>;
  stream: string;
  command: TCommand;
  metadata: CommandMetadata;
  /** Conflicts retried before giving up (another writer appended between read and append). */
  retries?: number;
};

export type HandleCommandDependencies = { store: EventStore; catalog: EventCatalog; clock?: Clock };

export type HandleCommandReturnType<TState> = {
  state: TState;
  events: RecordedEvent[];
  nextExpectedRevision: number;
};

/**
 * Load the stream, fold it through `evolve`, `decide`, validate and hash the new events,
 * append them at the expected revision. A concurrency conflict re-reads and decides again,
 * which is safe because `decide` is pure and nothing was written.
 * A stream of another tenant is reported as not found, so tenants cannot probe each other.
 * A stream holding an event of a newer release (a version or type this release does not know) is
 * not decided on: EventFromNewerReleaseError (503 EVENT_FROM_NEWER_RELEASE), nothing appended,
 * rather than a decision on a history read as something it is not (EventCatalog.upcast).
 */
export async function handleCommand<TState, TCommand>(
  deps: HandleCommandDependencies,
  p: HandleCommandParameters<TState, TCommand>,
): Promise<HandleCommandReturnType<TState>> {
  const retries = p.retries ?? 5;
  for (let attempt = 0; ; attempt++) {
    const history = await deps.store.readStream(p.stream);
    if (history.length > 0 && history[0].tenant !== p.metadata.tenant) throw new NotFoundError('stream', p.stream);
    let state = p.decider.initialState();
    for (const e of history) {
      // Throws for an event of a newer release: checked after the tenant, so the refusal names nothing of another tenant's stream.
      const current = deps.catalog.upcast(e);
      state = p.decider.evolve(state, { type: current.type, data: current.data });
    }
    const drafts = p.decider.decide(p.command, state);
    const expected = history.length === 0 ? 'no_stream' : history[history.length - 1].revision;
    if (drafts.length === 0) return { state, events: [], nextExpectedRevision: expected === 'no_stream' ? -1 : expected };
    const pending = drafts.map((d) => {
      const version = d.version ?? deps.catalog.latestVersion(d.type);
      return createEvent(
        {
          type: d.type,
          version,
          stream: p.stream,
          tenant: p.metadata.tenant,
          actor: p.metadata.actor,
          correlationId: p.metadata.correlationId,
          causationId: p.metadata.causationId,
          data: deps.catalog.validate(d.type, version, d.data),
        },
        deps.clock,
      );
    });
    try {
      const result = await deps.store.append(p.stream, pending, { expectedRevision: expected });
      for (const d of drafts) state = p.decider.evolve(state, d);
      return { state, events: result.events, nextExpectedRevision: result.nextExpectedRevision };
    } catch (err) {
      if (err instanceof WrongExpectedRevisionError && attempt < retries) continue;
      throw err;
    }
  }
}
