import type { StoredEvent } from "../../src/adapters/eventstore/event-store.js";

/**
 * A maker of events as the log hands them back, at increasing positions, to feed a projection, a
 * reactor or a cache straight from a test. Only the fields the code under test reads: test events
 * leave the rest of their data out, hence the one cast.
 */
export function storedEvents(): (stream: string, revision: bigint, type: string, data: unknown) => StoredEvent {
  let offset = 0n;
  const metadata = { correlationId: "c", causationId: "c", actor: "test", at: new Date().toISOString() };
  return (stream, revision, type, data) => {
    offset += 100n;
    const position = { commit: offset, prepare: offset };
    return { id: crypto.randomUUID(), stream, revision, position, type, data, metadata } as StoredEvent;
  };
}
