import {
  type EventMetadata,
  type EventStore,
  type Position,
  WrongExpectedVersionError,
} from "../adapters/eventstore/event-store.js";
import type { Decision, Refusal } from "../domain/decision.js";

/** What one command does to one stream: fold it, decide, append. */
export interface CommandPlan<State, Event extends { readonly type: string; readonly data: unknown }> {
  readonly stream: string;
  readonly initial: State;
  readonly evolve: (state: State, event: Event) => State;
  readonly decide: (state: State) => Decision<Event>;
  readonly metadata: EventMetadata;
}

export type CommandOutcome<State> =
  | { readonly ok: true; readonly state: State; /** Of the last event appended; undefined when none was. */ readonly position: Position | undefined }
  | { readonly ok: false; readonly error: Refusal };

const MAX_ATTEMPTS = 5;

/**
 * Reads the stream, folds it, decides and appends with the revision it read (optimistic
 * concurrency). When another writer got there first it decides again on the new state; after a
 * few lost races the caller gets a CONFLICT refusal rather than a write on a stale decision.
 */
export async function runCommand<State, Event extends { readonly type: string; readonly data: unknown }>(
  store: EventStore,
  plan: CommandPlan<State, Event>,
): Promise<CommandOutcome<State>> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await store.readStream(plan.stream);
    // The stream only ever holds this aggregate's events, written by this code.
    const state = stored.reduce((current, event) => plan.evolve(current, { type: event.type, data: event.data } as Event), plan.initial);
    const decision = plan.decide(state);
    if (!decision.ok) return decision;
    if (decision.events.length === 0) return { ok: true, state, position: undefined };
    const last = stored.at(-1);
    try {
      const result = await store.append(
        plan.stream,
        decision.events.map((event) => ({ type: event.type, data: event.data, metadata: plan.metadata })),
        last ? last.revision : "no_stream",
      );
      return { ok: true, state: decision.events.reduce(plan.evolve, state), position: result.position };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
  }
  return { ok: false, error: { code: "CONFLICT", message: `${plan.stream} is being changed concurrently; try again` } };
}
