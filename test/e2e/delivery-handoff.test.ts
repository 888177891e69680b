import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { type DeliveryEvent, deliveryId, deliveryStream } from "../../src/domain/delivery.js";
import { transactionIdFor } from "../../src/domain/ingest-decoding.js";
import { SEED_COLLECTION } from "../support/fixtures.js";
import { NATS_URL } from "../support/services.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";
import { createEndpoint, createSubscription } from "../support/webhooks.js";

/**
 * NATS → ingest → worker in one process: the delivery scheduled at ingest is handed to the worker,
 * which POSTs it at once, without claiming it from the queue, and records the attempt right after
 * its DeliveryScheduled (revision 0).
 */
let herald: TestHerald;
let receiver: WebhookReceiver;
let nc: NatsConnection;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  herald = await startTestHerald({ env: { HERALD_DELIVERY_TIMEOUT_MS: "2000" } });
  nc = await connect({ servers: NATS_URL });
});
afterAll(async () => {
  await nc?.close();
  await herald?.cleanup();
  await receiver?.close();
});

it("a handed-off delivery is POSTed once and recorded at revision 0, leased to the worker that attempted it", async () => {
  const store = herald.herald.store;
  const endpoint = await createEndpoint(store, `${receiver.url}/handoff`);
  await createSubscription(store, endpoint.webhookId, {
    type: "asset-link",
    actions: ["create"],
    collectionId: SEED_COLLECTION,
  });
  // Ingest hands off deliveries to endpoints its read models know.
  await expect
    .poll(
      async () =>
        (
          await sql`select 1 from delivery_endpoints where webhook_id = ${endpoint.webhookId}`.execute(
            herald.herald.database.db,
          )
        ).rows.length,
      {
        timeout: 20_000,
      },
    )
    .toBe(1);

  const transaction = {
    status: "SUCCESS",
    signature: `0x${"ab".repeat(32)}`,
    message: "",
    events: [{ type: "asset-link", action: "create", args: ["x"], collectionId: SEED_COLLECTION }],
  };
  await jetstream(nc).publish(herald.nats!.txSubject, JSON.stringify(transaction), { msgID: "handoff-1" });
  const stream = deliveryStream(deliveryId(endpoint.webhookId, transactionIdFor(transaction, "handoff-1")));

  let events: (StoredEvent & DeliveryEvent)[] = [];
  await expect
    .poll(
      async () => {
        events = (await store.readStream(stream)) as (StoredEvent & DeliveryEvent)[];
        return events.map((event) => `${event.revision}:${event.type}`);
      },
      { timeout: 20_000 },
    )
    .toEqual(["0:DeliveryScheduled", "1:DeliveryAttempted", "2:DeliverySucceeded"]);
  const [scheduled] = events;
  expect(scheduled?.type === "DeliveryScheduled" && scheduled.data.lease?.worker).toEqual(expect.any(String));
  expect(receiver.on("/handoff")).toHaveLength(1);
  expect(receiver.on("/handoff")[0]?.body).toBe(JSON.stringify(transaction));
});
