/** An event as a decider emits it: type and data; the command handler adds the envelope. */
export type EventDraft<TType extends string = string, TData = Record<string, unknown>> = {
  type: TType;
  data: TData;
  /**
   * The schema version to write; the latest when absent. A type whose new version only adds an
   * optional field is written at the old version when the field is absent, so consumers that know
   * only the old version keep reading the events they always got.
   */
  version?: number;
};

/**
 * A pure aggregate: no I/O, no clock. `decide` throws a typed error for a command the state
 * does not allow; `evolve` must accept every event `decide` ever emitted (they are in the log forever).
 */
export type Decider<TState, TCommand, TEvent extends EventDraft = EventDraft> = {
  name: string;
  initialState(): TState;
  decide(command: TCommand, state: TState): TEvent[];
  evolve(state: TState, event: TEvent): TState;
};
