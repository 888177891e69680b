import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type DeliveryAttempted, deliveryId, deliveryStream } from "../../src/domain/delivery.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";
import { createEndpoint, createSubscription } from "../support/webhooks.js";

/**
 * The running service's delivery worker, with private targets not allowed, refuses at connect time
 * endpoints whose URL reaches loopback, however the URL got past creation (here: endpoints created
 * while private targets were allowed, as in a configuration change, appended straight to the store).
 */
describe("delivery worker: private targets refused at connect time", () => {
  let herald: TestHerald;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    herald = await startTestHerald({
      nats: false,
      env: { HERALD_ALLOW_PRIVATE_TARGETS: "false", HERALD_DELIVERY_TIMEOUT_MS: "2000" },
    });
  });
  afterAll(async () => {
    await herald?.cleanup();
    await receiver?.close();
  });

  it("records forbidden_address for a literal loopback address, a name that resolves to it, and IPv4-mapped IPv6; the receiver gets nothing", async () => {
    const [seed] = fixtureTransactions() as [Transaction];
    const event = seed.events[0]!;
    const port = new URL(receiver.url).port;
    const urls = [
      `${receiver.url}/literal`,
      `http://localhost:${port}/name`,
      `http://[::ffff:127.0.0.1]:${port}/mapped`,
    ];
    const endpoints = [];
    for (const url of urls) {
      // retries 0: one attempt, then DeliveryFailed, so the test need not wait out a retry schedule.
      const endpoint = await createEndpoint(herald.herald.store, url, 0);
      await createSubscription(herald.herald.store, endpoint.webhookId, {
        type: event.type,
        actions: [event.action],
        collectionId: event.collectionId,
      });
      endpoints.push(endpoint);
    }
    // No wait needed: the dispatcher reads the subscriptions before the transaction, in log order.
    const response = await fetch(`${herald.url}/v1/transactions`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(seed),
    });
    expect(response.status).toBe(202);
    const { transactionId } = (await response.json()) as { transactionId: string };

    for (const [i, endpoint] of endpoints.entries()) {
      const stream = deliveryStream(deliveryId(endpoint.webhookId, transactionId));
      const events = await vi.waitFor(
        async () => {
          const read = await herald.herald.store.readStream(stream);
          if (!read.some((e) => e.type === "DeliveryFailed")) throw new Error(`${stream} has not failed yet`);
          return read;
        },
        { timeout: 15_000, interval: 50 },
      );
      const attempts = events
        .filter((e) => e.type === "DeliveryAttempted")
        .map((e) => (e.data as DeliveryAttempted["data"]).errorClass);
      expect(attempts, urls[i]).toEqual(["forbidden_address"]);
      expect(events.map((e) => e.type)).toContain("DeliveryFailed");
    }
    expect(receiver.requests).toHaveLength(0);
  });
});
