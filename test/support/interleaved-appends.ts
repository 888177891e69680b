import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import type { EventStore, ReadFrom } from "../../src/adapters/eventstore/event-store.js";
import type { HeraldEvent } from "../../src/domain/herald-event.js";
import { untilVisible } from "./until-visible.js";

/**
 * Appends each stream's events one append per event, taking the streams in turn (the first event of
 * every stream, then the second…), as concurrent writers interleave them in the log; resolves once
 * readers can see the last one.
 */
export async function appendInterleaved(
  store: EventStore,
  streams: readonly { readonly stream: string; readonly events: readonly HeraldEvent[] }[],
): Promise<void> {
  let last: ReadFrom = "start";
  const steps = Math.max(0, ...streams.map(({ events }) => events.length));
  for (let step = 0; step < steps; step++) {
    for (const { stream, events } of streams) {
      const event = events[step];
      if (!event) continue;
      const expected = step === 0 ? "no_stream" : BigInt(step - 1);
      last = (await store.append(stream, [{ ...event, metadata: eventMetadata("test") }], expected)).position;
    }
  }
  await untilVisible(store, last);
}
