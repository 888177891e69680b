import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { deliveryApi } from "../support/delivery-api.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { graphqlClient } from "../support/graphql-client.js";
import { newAccount } from "../support/siwe.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

const DOMAIN = "herald.test";
const CONCURRENCY = 2;
const TIMEOUT_MS = 4000;

describe("HERALD_ENDPOINT_CONCURRENCY across processes", () => {
  let first: TestHerald;
  let second: TestHerald;
  let receiver: WebhookReceiver;
  const owner = newAccount();
  const [seed] = fixtureTransactions() as [Transaction];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    first = await startTestHerald({
      nats: false,
      env: {
        HERALD_SIWE_DOMAIN: DOMAIN,
        HERALD_DELIVERY_TIMEOUT_MS: String(TIMEOUT_MS),
        HERALD_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
        HERALD_RETRY_BASE_MS: "600000",
        HERALD_RETRY_MAX_MS: "600000",
      },
    });
    second = await first.restart();
  });

  afterAll(async () => {
    await receiver?.close();
    await second?.stop();
    await first?.cleanup();
  });

  it("holds the cap for an endpoint when two processes deliver to it", async () => {
    receiver.script("/hang", [{ hang: true, status: 200 }]);
    const api = deliveryApi(first.url, graphqlClient(first.url, DOMAIN), owner);
    await api.endpointAt(`${receiver.url}/hang`);
    // Ten deliveries due at once, ingested through both processes so that both workers claim them.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => deliveryApi(i % 2 ? second.url : first.url, graphqlClient(first.url, DOMAIN), owner).ingest(seed, `cap-${i}`)),
    );
    await receiver.waitFor(CONCURRENCY, "/hang");
    // Both workers have had time to claim and start what they could (they claim every 100 ms or so).
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS / 2));
    expect(receiver.on("/hang")).toHaveLength(CONCURRENCY);
  });
});
