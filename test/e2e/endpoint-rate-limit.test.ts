import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { deliveryApi } from "../support/delivery-api.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { errorCode, graphqlClient } from "../support/graphql-client.js";
import { newAccount } from "../support/siwe.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

const DOMAIN = "herald.test";
const RATE_LIMIT = 5;
const COUNT = 15;

describe("per-endpoint rate limit", () => {
  let first: TestHerald;
  let second: TestHerald;
  let receiver: WebhookReceiver;
  const owner = newAccount();
  const gql = () => graphqlClient(first.url, DOMAIN);
  let api: ReturnType<typeof deliveryApi>;
  const [seed] = fixtureTransactions() as [Transaction];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    first = await startTestHerald({ nats: false, env: { HERALD_SIWE_DOMAIN: DOMAIN } });
    // A second process on the same database: both workers claim deliveries, and the limit holds across them.
    second = await first.restart();
    api = deliveryApi(first.url, gql(), owner);
  });

  afterAll(async () => {
    await second?.stop();
    await first?.cleanup();
    await receiver?.close();
  });

  it("spreads deliveries to a limited endpoint over time, across processes, while an unlimited one gets them at once", async () => {
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
        deliveryApi(i % 2 ? second.url : first.url, gql(), owner).ingest(seed, `rate-${i}`),
      ),
    );
    const free = await receiver.waitFor(COUNT, "/free", 10_000);
    const times = (await receiver.waitFor(COUNT, "/limited", 20_000))
      .map((request) => request.at)
      .sort((a, b) => a - b);
    const span = (from: number, to: number) => times[to]! - times[from]!;
    console.info(
      `rate limit ${RATE_LIMIT}/s: ${COUNT} deliveries over ${span(0, COUNT - 1)} ms; unlimited endpoint done after ${Math.max(...free.map((r) => r.at)) - started} ms`,
    );

    // At 5 a second, attempts start 200 ms apart: six take a second (less slack for the way to the
    // receiver, which can delay one request more than another on a busy machine).
    const intervalMs = 1000 / RATE_LIMIT;
    for (let i = 0; i + RATE_LIMIT < COUNT; i++)
      expect(span(i, i + RATE_LIMIT)).toBeGreaterThanOrEqual(RATE_LIMIT * intervalMs - 150);
    expect(span(0, COUNT - 1)).toBeGreaterThanOrEqual((COUNT - 1) * intervalMs - 300);
    // …and the limit is a limit, not a stall.
    expect(span(0, COUNT - 1)).toBeLessThan((COUNT - 1) * intervalMs + 2000);
    // The unlimited endpoint on the same receiver did not wait behind the limited one's backlog.
    expect(Math.max(...free.map((r) => r.at))).toBeLessThan(times[RATE_LIMIT]!);

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
    const webhookId = await api.endpointAt(`${receiver.url}/other`);
    const update = (fields: string) =>
      gql()(
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
    const created = await gql()(
      `mutation($url: String!) { createWebhookEndpoint(input: { url: $url, rateLimit: 2 }) { webhookEndpoint { rateLimit } } }`,
      { url: `${receiver.url}/created` },
      owner,
    );
    expect(created.data?.createWebhookEndpoint.webhookEndpoint.rateLimit).toBe(2);
  });
});
