import { expect, it } from "vitest";
import type { ReadFrom, StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { claimDeliveries } from "../../src/app/delivery-claims.js";
import { deliveryStream } from "../../src/domain/delivery.js";
import { endpointStream } from "../../src/domain/webhook-events.js";
import { deliveryQueueProjection } from "../../src/projections/delivery-queue.js";
import type { AnyProjection } from "../../src/projections/projection.js";
import { applyBatch } from "../../src/projections/projection-batch.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { storedEvents } from "../support/stored-events.js";

/**
 * An attempt and its outcome are one append, but a subscription batch may end between them (the
 * EventStoreDB subscription hands events over one by one). Until the outcome is applied the delivery
 * stays leased: otherwise a worker claims it again and POSTs it twice.
 */
const log = useEventLogDatabase();

it("an attempt applied without its outcome keeps the delivery leased; the outcome frees it at the new revision", async () => {
  const projection: AnyProjection = deliveryQueueProjection();
  await projection.setup(log.database.db);
  const webhookId = "00000000-0000-4000-8000-0000000000aa";
  const deliveryId = "00000000-0000-4000-8000-0000000000bb";
  const stream = deliveryStream(deliveryId);
  const stored = storedEvents();
  let from: ReadFrom = "start";
  const apply = async (...events: StoredEvent[]) => {
    await applyBatch(log.database.db, projection, from, events);
    from = events.at(-1)!.position;
  };
  const claim = () =>
    claimDeliveries(log.database.db, { limit: 10, leaseMs: 60_000, skipWebhooks: [], worker: "test" });

  await apply(
    stored(endpointStream(webhookId), 0n, "WebhookEndpointCreated", {
      webhookId,
      url: "http://127.0.0.1:1/x",
      retries: 5,
      apiKey: "k",
      signingSecret: "s",
    }),
    stored(stream, 0n, "DeliveryScheduled", {
      deliveryId,
      webhookId,
      transactionId: "t",
      subscriptionIds: [],
      transaction: {},
      scheduledAt: Date.now() - 1000,
    }),
  );
  const [first] = await claim();
  expect(first).toMatchObject({ deliveryId, revision: 0n, attempts: 0 });

  // The worker appended [DeliveryAttempted, DeliveryRetryScheduled]; this batch holds only the first.
  await apply(
    stored(stream, 1n, "DeliveryAttempted", {
      deliveryId,
      attempt: 1,
      startedAt: Date.now(),
      durationMs: 1,
      url: "http://127.0.0.1:1/x",
      status: 503,
    }),
  );
  expect(await claim()).toEqual([]);

  await apply(stored(stream, 2n, "DeliveryRetryScheduled", { deliveryId, attempt: 2, dueAt: Date.now() - 1 }));
  const [second] = await claim();
  expect(second).toMatchObject({ deliveryId, revision: 2n, attempts: 1, state: "pending" });
});
