import type { EventStore, LogPage, Subscription } from "../../src/adapters/eventstore/event-store.js";
import { subscriptionEvents } from "../../src/adapters/eventstore/subscription-events.js";

/**
 * The same store, except that its live subscriptions hand out nothing until `release()`: a reader
 * held back as an old open transaction holds the PostgreSQL log's readers, without holding every
 * other test's readers on the cluster too. Reads and appends go straight through.
 */
export function heldSubscriptions(store: EventStore): { readonly store: EventStore; release(): void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const held = new Proxy(store, {
    get(target, key, receiver) {
      if (key !== "subscribeAll") return Reflect.get(target, key, receiver) as unknown;
      return (...args: Parameters<EventStore["subscribeAll"]>): Subscription => {
        const inner = target.subscribeAll(...args);
        const subscription: Subscription = {
          async nextPage(max: number): Promise<LogPage> {
            await released;
            return inner.nextPage(max);
          },
          async nextBatch(max: number) {
            await released;
            return inner.nextBatch(max);
          },
          async close() {
            release();
            await inner.close();
          },
          [Symbol.asyncIterator]: () => subscriptionEvents(subscription),
        };
        return subscription;
      };
    },
  });
  return { store: held, release: () => release() };
}
