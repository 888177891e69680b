import { type AnyEvent, type StoredEvent, type Subscription, SubscriptionClosedError } from "./event-store.js";

/**
 * A subscription's events one at a time, from its batches; ends quietly when the subscription is
 * closed, and closes it when the reader stops early. Every adapter's async iterator is this.
 */
export async function* subscriptionEvents<E extends AnyEvent>(
  subscription: Subscription<E>,
): AsyncGenerator<StoredEvent<E>> {
  try {
    for (;;) {
      for (const event of await subscription.nextBatch(500)) yield event;
    }
  } catch (error) {
    if (error instanceof SubscriptionClosedError) return;
    throw error;
  } finally {
    await subscription.close();
  }
}
