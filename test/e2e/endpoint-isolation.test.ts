import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveryId } from "../../src/domain/delivery.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { deliveryApi } from "../support/delivery-api.js";
import { useDeliveryHarness } from "../support/delivery-harness.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { graphqlClient } from "../support/graphql-client.js";
import { newAccount, TEST_SIWE_DOMAIN } from "../support/siwe.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

const TIMEOUT_MS = 5000;
const CONCURRENCY = 2;
const COUNT = 10;
const ENV = {
  HERALD_SIWE_DOMAIN: TEST_SIWE_DOMAIN,
  HERALD_DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
  HERALD_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
  // No retry within the test: each hanging delivery makes one attempt.
  HERALD_RETRY_BASE_MS: "600000",
  HERALD_RETRY_MAX_MS: "600000",
};

describe("isolation: an endpoint that never answers does not slow deliveries to another", () => {
  const harness = useDeliveryHarness({ env: ENV });
  const [seed] = fixtureTransactions() as [Transaction];

  // How fast beside a hanging endpoint, against alone: `npm run bench -- endpoints` (a wall-clock figure).
  it("delivers to the healthy endpoint while the hanging attempts are in flight: all of them before the first hanging one ends", async () => {
    const { api, receiver } = harness;
    // Both endpoints on one receiver, so they share an origin: the stricter case.
    receiver.script("/hang", [{ hang: true, status: 200 }]);
    await api.endpointAt(`${receiver.url}/fast`);
    const hanging = await api.endpointAt(`${receiver.url}/hang`);
    const transactionIds = await Promise.all(Array.from({ length: COUNT }, (_, i) => api.ingest(seed, `mixed-${i}`)));
    await receiver.waitFor(COUNT, "/fast");

    // The hanging endpoint holds its capped share of attempts, none of which has ended yet.
    expect(receiver.on("/hang")).toHaveLength(CONCURRENCY);
    // Nothing recorded for the hanging endpoint yet; its attempts end at the timeout, recorded as such.
    const hangingDeliveries = transactionIds.map((id) => deliveryId(hanging, id));
    const waiting = await Promise.all(hangingDeliveries.map((id) => api.deliveryWhen(id, () => true)));
    expect(waiting.flatMap((d) => d.attempts)).toEqual([]);
    const timedOut = await Promise.race(
      hangingDeliveries.map((id) => api.deliveryWhen(id, (d) => d.attempts.length > 0, 3 * TIMEOUT_MS)),
    );
    expect(timedOut.attempts[0]).toMatchObject({ number: 1, errorClass: "timeout" });
  });
});

describe("HERALD_ENDPOINT_CONCURRENCY across processes", () => {
  let first: TestHerald;
  let second: TestHerald;
  let receiver: WebhookReceiver;
  const owner = newAccount();
  const [seed] = fixtureTransactions() as [Transaction];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    first = await startTestHerald({ nats: false, env: ENV });
    second = await first.restart();
  });

  afterAll(async () => {
    await receiver?.close();
    await second?.stop();
    await first?.cleanup();
  });

  it("holds the cap for an endpoint when two processes claim its deliveries from the queue", async () => {
    receiver.script("/hang", [{ hang: true, status: 200 }]);
    const gql = graphqlClient(first.url, TEST_SIWE_DOMAIN);
    const api = deliveryApi(first.url, gql, owner);
    const webhookId = await api.endpointAt(`${receiver.url}/hang`);
    // Ingested while the endpoint is paused, so nothing is handed off at ingest (README, Isolation):
    // resumed, ten deliveries are due at once in the queue, and both workers claim them.
    const setPaused = async (paused: boolean) => {
      const mutation = paused ? "pauseWebhookEndpoint" : "resumeWebhookEndpoint";
      const response = await gql(
        `mutation($input: ${paused ? "Pause" : "Resume"}WebhookEndpointInput!) { ${mutation}(input: $input) { __typename } }`,
        { input: { webhookId } },
        owner,
      );
      expect(response.errors).toBeUndefined();
    };
    await setPaused(true);
    const transactionIds = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        deliveryApi(i % 2 ? second.url : first.url, gql, owner).ingest(seed, `cap-${i}`),
      ),
    );
    await Promise.all(
      transactionIds.map((id) =>
        api.deliveryWhen(deliveryId(webhookId, id), (delivery) => delivery.status === "PAUSED", 30_000),
      ),
    );
    await setPaused(false);
    await receiver.waitFor(CONCURRENCY, "/hang");
    // A worker claims no more of an endpoint's rows than its own free slots, so what is given back for
    // want of a slot was held by the other process's attempts: the cap held across the two.
    const deferred = async (herald: TestHerald) =>
      Number(
        /^herald_delivery_deferred_total\{reason="endpoint_concurrency"\} (\d+)$/m.exec(
          await (await fetch(`${herald.url}/metrics`)).text(),
        )?.[1] ?? 0,
      );
    await expect.poll(async () => (await deferred(first)) + (await deferred(second))).toBeGreaterThan(0);
    expect(receiver.on("/hang")).toHaveLength(CONCURRENCY);
  });
});
