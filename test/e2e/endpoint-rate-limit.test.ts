import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { deliveryApi } from "../support/delivery-api.js";
import { useDeliveryHarness } from "../support/delivery-harness.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { errorCode } from "../support/graphql-client.js";
import type { TestHerald } from "../support/test-herald.js";

const RATE_LIMIT = 5;
const COUNT = 15;

describe("per-endpoint rate limit", () => {
  const harness = useDeliveryHarness();
  let second: TestHerald;
  const [seed] = fixtureTransactions() as [Transaction];

  beforeAll(async () => {
    // A second process on the same database: both workers claim deliveries, and the limit holds across them.
    second = await harness.herald.restart();
  });
  afterAll(async () => {
    await second?.stop();
  });

  // How the arrivals are spaced, and the unlimited endpoint's pace beside the limited one:
  // `npm run bench -- endpoints` (wall-clock figures a busy machine bends).
  it("spreads deliveries to a limited endpoint over time, across processes, while an unlimited one gets them all", async () => {
    const { api, gql, owner, receiver } = harness;
    const first = harness.herald;
    const limited = await api.endpointAt(`${receiver.url}/limited`);
    const set = await api.ok(
      `mutation($webhookId: String!) { updateWebhookEndpoint(input: { webhookId: $webhookId, rateLimit: ${RATE_LIMIT} }) { webhookEndpoint { rateLimit } } }`,
      { webhookId: limited },
    );
    expect(set.updateWebhookEndpoint.webhookEndpoint.rateLimit).toBe(RATE_LIMIT);
    await api.endpointAt(`${receiver.url}/free`);

    const started = Date.now();
    // Half the transactions through each process, so both have deliveries to claim.
    await Promise.all(
      Array.from({ length: COUNT }, (_, i) =>
        deliveryApi(i % 2 ? second.url : first.url, gql, owner).ingest(seed, `rate-${i}`),
      ),
    );
    await receiver.waitFor(COUNT, "/free");
    // The limit is a limit, not a stall: every delivery arrives.
    const limitedArrivals = (await receiver.waitFor(COUNT, "/limited")).map((request) => request.at);
    // At 5 a second, 15 attempts take at least 14 × 200 ms after the first could start (less slack for
    // the way to the receiver). Measured from before the ingest, so a slow machine only adds to it.
    expect(Math.max(...limitedArrivals) - started).toBeGreaterThanOrEqual(((COUNT - 1) * 1000) / RATE_LIMIT - 300);

    // Operators see the limit at work: deliveries put back for want of a slot, on either process.
    const deferred = await Promise.all(
      [first, second].map(async (herald) => {
        const metrics = await (await fetch(`${herald.url}/metrics`)).text();
        return Number(/^herald_delivery_deferred_total\{reason="rate_limit"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
      }),
    );
    expect(deferred[0]! + deferred[1]!).toBeGreaterThan(0);
  });

  it("removes the limit with null, keeps it when the field is left out, and refuses a bad value writing nothing", async () => {
    const { api, gql, owner, receiver } = harness;
    const first = harness.herald;
    const webhookId = await api.endpointAt(`${receiver.url}/other`);
    const update = (fields: string) =>
      gql(
        `mutation($webhookId: String!) { updateWebhookEndpoint(input: { webhookId: $webhookId, ${fields} }) { webhookEndpoint { rateLimit retries } } }`,
        { webhookId },
        owner,
      );
    expect((await update("rateLimit: 7")).data?.updateWebhookEndpoint.webhookEndpoint).toEqual({
      rateLimit: 7,
      retries: 3,
    });
    expect((await update("retries: 4")).data?.updateWebhookEndpoint.webhookEndpoint).toEqual({
      rateLimit: 7,
      retries: 4,
    });

    const before = await first.herald.store.readStream(`endpoint-${webhookId}`);
    for (const bad of ["rateLimit: 0", "rateLimit: 10001", "rateLimit: -3"]) {
      const refused = await update(bad);
      expect(errorCode(refused), bad).toBe("BAD_USER_INPUT");
      expect(JSON.stringify(refused.errors)).toContain("rateLimit");
    }
    expect(await first.herald.store.readStream(`endpoint-${webhookId}`)).toHaveLength(before.length);

    expect((await update("rateLimit: null")).data?.updateWebhookEndpoint.webhookEndpoint).toEqual({
      rateLimit: null,
      retries: 4,
    });
    const created = await gql(
      `mutation($url: String!) { createWebhookEndpoint(input: { url: $url, rateLimit: 2 }) { webhookEndpoint { rateLimit } } }`,
      { url: `${receiver.url}/created` },
      owner,
    );
    expect(created.data?.createWebhookEndpoint.webhookEndpoint.rateLimit).toBe(2);
  });
});
