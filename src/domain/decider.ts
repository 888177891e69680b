import type { Decision } from "./decision.js";

/**
 * The one shape of every aggregate: `evolve` folds the aggregate's stream, event by event, from
 * `initialState`; `decide` answers a command on the folded state with the events to append or a
 * refusal. Both are pure: a command carries everything else decide needs (the caller, the clock,
 * sealed secrets, what other streams said), so one stream and one command always decide alike and
 * the command handler may decide again after losing a race. A decider that depends on the
 * deployment's settings is made from them (webhookEndpointDecider(rules), endpointHealthDecider(rules)).
 */
export interface Decider<Command, Event, State> {
  readonly decide: (command: Command, state: State) => Decision<Event>;
  readonly evolve: (state: State, event: Event) => State;
  readonly initialState: State;
}
