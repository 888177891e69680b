import type { StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import type { DeliveryLease } from "../../src/domain/delivery.js";
import { deliveryStream } from "../../src/domain/delivery.js";
import { endpointStream } from "../../src/domain/webhook-events.js";
import type { storedEvents } from "./stored-events.js";

/**
 * One delivery's events as the queue projection reads them: its DeliveryScheduled (handed off when
 * `lease` is given), and a first attempt that failed with its retry due at once, or that succeeded.
 */
export function deliveryEvents(
  stored: ReturnType<typeof storedEvents>,
  options: {
    readonly webhookId: string;
    readonly url: string;
    readonly scheduledAt: number;
    readonly lease?: DeliveryLease;
  },
): {
  readonly deliveryId: string;
  readonly scheduled: StoredEvent;
  readonly attempted: () => StoredEvent;
  readonly retry: () => StoredEvent;
  readonly succeeded: () => StoredEvent;
} {
  const deliveryId = crypto.randomUUID();
  const stream = deliveryStream(deliveryId);
  const { webhookId, url, scheduledAt, lease } = options;
  return {
    deliveryId,
    scheduled: stored(stream, 0n, "DeliveryScheduled", {
      deliveryId,
      webhookId,
      transactionId: deliveryId,
      subscriptionIds: [],
      transaction: {},
      scheduledAt,
      ...(lease === undefined ? {} : { lease }),
    }),
    attempted: () =>
      stored(stream, 1n, "DeliveryAttempted", {
        deliveryId,
        attempt: 1,
        startedAt: Date.now(),
        durationMs: 1,
        url,
        status: 503,
      }),
    retry: () => stored(stream, 2n, "DeliveryRetryScheduled", { deliveryId, attempt: 2, dueAt: Date.now() - 1 }),
    succeeded: () => stored(stream, 2n, "DeliverySucceeded", { deliveryId, attempt: 1, at: Date.now() }),
  };
}

/** An endpoint's creation as the queue projection reads it. */
export function endpointCreated(
  stored: ReturnType<typeof storedEvents>,
  options: { readonly webhookId: string; readonly url: string; readonly rateLimit?: number },
): StoredEvent {
  const { webhookId, url, rateLimit } = options;
  return stored(endpointStream(webhookId), 0n, "WebhookEndpointCreated", {
    webhookId,
    url,
    retries: 5,
    apiKey: "k",
    signingSecret: "s",
    ...(rateLimit === undefined ? {} : { rateLimit }),
  });
}
