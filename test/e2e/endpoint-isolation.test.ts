import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveryId } from "../../src/domain/delivery.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { deliveryApi } from "../support/delivery-api.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { graphqlClient } from "../support/graphql-client.js";
import { newAccount } from "../support/siwe.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

const DOMAIN = "herald.test";
const TIMEOUT_MS = 5000;
const CONCURRENCY = 2;
const COUNT = 10;
const ENV = {
  HERALD_SIWE_DOMAIN: DOMAIN,
  HERALD_DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
  HERALD_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
  // No retry within the test: each hanging delivery makes one attempt.
  HERALD_RETRY_BASE_MS: "600000",
  HERALD_RETRY_MAX_MS: "600000",
};

describe("isolation: an endpoint that never answers does not slow deliveries to another", () => {
  let running: TestHerald;
  let receiver: WebhookReceiver;
  let api: ReturnType<typeof deliveryApi>;
  const [seed] = fixtureTransactions() as [Transaction];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    running = await startTestHerald({ nats: false, env: ENV });
    api = deliveryApi(running.url, graphqlClient(running.url, DOMAIN), newAccount());
  });

  afterAll(async () => {
    await running?.cleanup();
    await receiver?.close();
  });

  /** Ingests COUNT transactions at once; resolves with the ms until `path` has `total` requests. */
  async function deliverBatch(
    label: string,
    path: string,
    total: number,
  ): Promise<{ ms: number; transactionIds: string[] }> {
    const started = performance.now();
    const transactionIds = await Promise.all(
      Array.from({ length: COUNT }, (_, i) => api.ingest(seed, `${label}-${i}`)),
    );
    await receiver.waitFor(total, path);
    return { ms: performance.now() - started, transactionIds };
  }

  it("delivers to the healthy endpoint as fast with the hanging one as without, while the hanging attempts are in flight", async () => {
    // Both endpoints on one receiver, so they share an origin: the stricter case.
    receiver.script("/hang", [{ hang: true, status: 200 }]);
    await api.endpointAt(`${receiver.url}/fast`);

    // A first batch warms the path up, so that the baseline is not a cold start.
    await deliverBatch("warm", "/fast", COUNT);
    const alone = await deliverBatch("alone", "/fast", 2 * COUNT);

    const hanging = await api.endpointAt(`${receiver.url}/hang`);
    const mixed = await deliverBatch("mixed", "/fast", 3 * COUNT);
    const healthyDone = Date.now();
    console.info(
      `healthy endpoint, ${COUNT} deliveries: ${Math.round(alone.ms)} ms alone, ${Math.round(mixed.ms)} ms beside a hanging endpoint`,
    );

    // The hanging endpoint holds its capped share of attempts, none of which has ended yet.
    const hangs = receiver.on("/hang");
    expect(hangs).toHaveLength(CONCURRENCY);
    expect(healthyDone - hangs[0]!.at).toBeLessThan(TIMEOUT_MS);
    // Comparable to the run without it, and far below one attempt's timeout.
    expect(mixed.ms).toBeLessThan(Math.max(3 * alone.ms, alone.ms + 1000));
    expect(mixed.ms).toBeLessThan(TIMEOUT_MS / 2);

    // Nothing recorded for the hanging endpoint yet; its attempts end at the timeout, recorded as such.
    const hangingDeliveries = mixed.transactionIds.map((id) => deliveryId(hanging, id));
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
    const gql = graphqlClient(first.url, DOMAIN);
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
    // Both workers have had time to claim and start what they could (they claim every 100 ms or so).
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS / 2));
    expect(receiver.on("/hang")).toHaveLength(CONCURRENCY);
  });
});
