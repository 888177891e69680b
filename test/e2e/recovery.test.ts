import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliveryId } from "../../src/domain/delivery.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { deliveryApi } from "../support/delivery-api.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { errorCode, type GraphqlCall, graphqlClient } from "../support/graphql-client.js";
import { newAccount } from "../support/siwe.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";

const DOMAIN = "herald.test";
const RECOVER = `mutation($webhookId: String!, $since: String, $until: String) {
  recoverDeliveries(webhookId: $webhookId, since: $since, until: $until) { deliveryIds }
}`;
const REDELIVER = `mutation($deliveryId: String!) { redeliver(deliveryId: $deliveryId) { redelivered delivery { deliveryId status } } }`;
const TRAIL = `query($deliveryId: String!) { auditTrail(deliveryId: $deliveryId) { type actor } }`;

describe("recovery: failed deliveries attempted again, once per request, in the same history", () => {
  let running: TestHerald;
  let receiver: WebhookReceiver;
  let gql: GraphqlCall;
  let api: ReturnType<typeof deliveryApi>;
  const alice = newAccount();
  const bob = newAccount();
  const admin = newAccount();
  const auditor = newAccount();
  const [seed] = fixtureTransactions() as [Transaction];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    running = await startTestHerald({
      nats: false,
      env: { HERALD_SIWE_DOMAIN: DOMAIN, HERALD_ADMIN_ADDRESSES: admin.address, HERALD_AUDITOR_ADDRESSES: auditor.address },
    });
    gql = graphqlClient(running.url, DOMAIN);
    api = deliveryApi(running.url, gql, alice);
  });

  afterAll(async () => {
    await running?.cleanup();
    await receiver?.close();
  });

  it("recoverDeliveries called twice (at once, then again) sends each failed delivery in its window once", async () => {
    // Fails for good on the first attempt (no retries); the receiver is fixed before recovery.
    receiver.script("/down", [{ status: 500, body: "down" }]);
    const webhookId = await api.endpointAt(`${receiver.url}/down`, 0);
    const since = new Date().toISOString();
    const inWindow = [deliveryId(webhookId, await api.ingest(seed, "recover-1")), deliveryId(webhookId, await api.ingest(seed, "recover-2"))];
    for (const id of inWindow) await api.deliveryWhen(id, (d) => d.status === "FAILED");
    const until = new Date().toISOString();
    const outside = deliveryId(webhookId, await api.ingest(seed, "recover-3"));
    await api.deliveryWhen(outside, (d) => d.status === "FAILED");
    receiver.script("/down", [{ status: 200, body: "back" }]);

    // Auditors read but never act; nobody else learns the endpoint exists.
    expect(errorCode(await gql(RECOVER, { webhookId, since, until }, auditor))).toBe("FORBIDDEN");
    expect(errorCode(await gql(REDELIVER, { deliveryId: outside }, auditor))).toBe("FORBIDDEN");
    expect(errorCode(await gql(RECOVER, { webhookId, since, until }, bob))).toBe("NOT_FOUND");
    expect(errorCode(await gql(REDELIVER, { deliveryId: outside }, bob))).toBe("NOT_FOUND");

    const twice = await Promise.all([api.ok(RECOVER, { webhookId, since, until }), api.ok(RECOVER, { webhookId, since, until })]);
    const scheduled = twice.flatMap((data) => data.recoverDeliveries.deliveryIds as string[]);
    expect(scheduled.toSorted()).toEqual(inWindow.toSorted());
    for (const id of inWindow) {
      const delivery = await api.deliveryWhen(id, (d) => d.status === "SUCCEEDED");
      // The new attempt continues the same history.
      expect(delivery.attempts.map((a: any) => [a.number, a.statusCode])).toEqual([[1, 500], [2, 200]]);
      const trail = (await api.ok(TRAIL, { deliveryId: id })).auditTrail as { type: string; actor: string }[];
      expect(trail.filter((event) => event.type === "DeliveryRedeliveryRequested")).toEqual([{ type: "DeliveryRedeliveryRequested", actor: alice.address }]);
    }
    // Once more, after the fact: nothing is failed in the window any more.
    expect((await api.ok(RECOVER, { webhookId, since, until })).recoverDeliveries.deliveryIds).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // 3 failed attempts, then one redelivery each for the two in the window; the third was outside it.
    expect(receiver.on("/down")).toHaveLength(5);
    expect((await api.deliveryWhen(outside, () => true)).status).toBe("FAILED");

    // An admin redelivers the one outside the window: once, however often asked.
    const first = await gql(REDELIVER, { deliveryId: outside }, admin);
    expect(first.data?.redeliver).toMatchObject({ redelivered: true, delivery: { deliveryId: outside, status: "PENDING" } });
    expect((await gql(REDELIVER, { deliveryId: outside }, admin)).data?.redeliver.redelivered).toBe(false);
    await api.deliveryWhen(outside, (d) => d.status === "SUCCEEDED");
    expect((await gql(REDELIVER, { deliveryId: outside }, admin)).data?.redeliver.redelivered).toBe(false);
    expect(receiver.on("/down")).toHaveLength(6);
  });
});
