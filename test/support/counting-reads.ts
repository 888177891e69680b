import type { EventStore, StoredEvent } from "../../src/adapters/eventstore/event-store.js";

/**
 * The same store, counting the events that its global reads (`readAll…`) hand back, so that a test
 * or a benchmark can tell how much of the log a start-up read. Subscriptions read inside the
 * adapter and are not counted.
 */
export function countingReads(store: EventStore): { readonly store: EventStore; eventsRead(): number } {
  let read = 0;
  const counted = new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== "string" || !key.startsWith("readAll") || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const events = (await value.apply(target, args)) as StoredEvent[];
        read += events.length;
        return events;
      };
    },
  });
  return { store: counted, eventsRead: () => read };
}
