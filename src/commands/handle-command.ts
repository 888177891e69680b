import {
  type AppendRequest,
  type EventMetadata,
  type EventStore,
  type Position,
  WrongExpectedVersionError,
} from "../adapters/eventstore/event-store.js";
import type { Decider } from "../domain/decider.js";
import type { Refusal } from "../domain/decision.js";
import type { HeraldEvent } from "../domain/herald-event.js";

/**
 * The command side, below src/app so that the composition root and the reactions (which append
 * what events mean) share it: one stream, one decider, one command.
 */

export interface HandleOptions<Event extends HeraldEvent> {
  readonly metadata: EventMetadata;
  /**
   * Events that some of the decided events also add to a fence stream (AppendFence), written in the
   * same appendMany after them, with the fence held for writing.
   */
  readonly fence?: {
    readonly stream: string;
    readonly events: (decided: readonly Event[]) => readonly HeraldEvent[];
  };
}

export type CommandOutcome<State> =
  | {
      readonly ok: true;
      readonly state: State;
      /** Of the last event appended; undefined when none was. */
      readonly position: Position | undefined;
    }
  | { readonly ok: false; readonly error: Refusal };

const MAX_ATTEMPTS = 5;

/**
 * Reads the stream, folds it, decides and appends with the revision it read (optimistic
 * concurrency). When another writer got there first it decides again on the new state; after a
 * few lost races the caller gets a CONFLICT refusal rather than a write on a stale decision.
 */
export async function handleCommand<Command, Event extends HeraldEvent, State>(
  store: EventStore,
  stream: string,
  decider: Decider<Command, Event, State>,
  command: Command,
  options: HandleOptions<Event>,
): Promise<CommandOutcome<State>> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await store.readStream(stream);
    // The stream only ever holds this aggregate's events, written by this code.
    const state = stored.reduce(
      (current, event) => decider.evolve(current, { type: event.type, data: event.data } as Event),
      decider.initialState,
    );
    const decision = decider.decide(command, state);
    if (!decision.ok) return decision;
    if (decision.events.length === 0) return { ok: true, state, position: undefined };
    const last = stored.at(-1);
    try {
      const result = await append(store, stream, options, decision.events, last ? last.revision : "no_stream");
      return { ok: true, state: decision.events.reduce(decider.evolve, state), position: result.position };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
  }
  return { ok: false, error: { code: "CONFLICT", message: `${stream} is being changed concurrently; try again` } };
}

async function append<Event extends HeraldEvent>(
  store: EventStore,
  stream: string,
  { metadata, fence }: HandleOptions<Event>,
  events: readonly Event[],
  expectedRevision: AppendRequest["expectedRevision"],
) {
  const request: AppendRequest<Event> = {
    stream,
    expectedRevision,
    events: events.map((event) => ({ ...event, metadata })),
  };
  const fenced = fence?.events(events) ?? [];
  if (!fence || fenced.length === 0) return store.append(request.stream, request.events, expectedRevision);
  const marker: AppendRequest = {
    stream: fence.stream,
    expectedRevision: "any",
    events: fenced.map((event) => ({ ...event, metadata })),
  };
  // When the change itself loses its race the marker is written all the same: that only makes ingest
  // match again, while a marker missing next to a change would let ingest miss it. Fenced, so never
  // through the process's batcher (batchedStore sends it to the store): change, marker and fence are
  // one unit.
  const [outcome] = await store.appendMany([request, marker], { fence: { stream: fence.stream } });
  if (!outcome) throw new Error(`appendMany returned no outcome for ${stream}`);
  if (!outcome.ok) throw outcome.error;
  return outcome.result;
}
