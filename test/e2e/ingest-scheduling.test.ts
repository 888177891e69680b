import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import type { StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { deliveryId, deliveryStream } from "../../src/domain/delivery.js";
import { transactionIdFor } from "../../src/domain/ingest-decoding.js";
import { type Transaction, transactionStream } from "../../src/domain/ingest-events.js";
import { startEsdbTestServer } from "../support/esdb-test-server/index.js";
import { fixtureTransactions, SEED_COLLECTION } from "../support/fixtures.js";
import { type GraphqlCall, graphqlClient } from "../support/graphql-client.js";
import { NATS_URL } from "../support/services.js";
import { newAccount, TEST_SIWE_DOMAIN } from "../support/siwe.js";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";
import { createEndpoint, createSubscription } from "../support/webhooks.js";

const seedMatch = { type: "asset-link", actions: ["create", "delete"], collectionId: SEED_COLLECTION };
const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { webhookEndpoint { webhookId } } }`;
const CREATE_SUBSCRIPTION = `mutation($input: CreateWebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) { webhookSubscription { subscriptionId } }
}`;
const DELETE_SUBSCRIPTION = `mutation($webhookId: String!, $subscriptionId: String!) {
  deleteWebhookSubscription(input: { webhookId: $webhookId, subscriptionId: $subscriptionId }) { success }
}`;

/** herald_dispatch_repairs_total as this process reports it. */
async function repairs(herald: TestHerald): Promise<number> {
  const text = await herald.herald.metrics.render();
  const line = /^herald_dispatch_repairs_total (\d+)$/m.exec(text);
  if (!line) throw new Error("herald_dispatch_repairs_total is not reported");
  return Number(line[1]);
}

/** Resolves once the dispatch auditor has applied the transaction's TransactionReceived. */
async function audited(herald: TestHerald, transactionId: string): Promise<void> {
  const stream = transactionStream(transactionId);
  const received = await vi.waitFor(
    async () => {
      const [first] = await herald.herald.store.readStream(stream);
      if (!first) throw new Error(`${stream} not written yet`);
      return first;
    },
    { timeout: 15_000 },
  );
  await herald.herald.projections.get("dispatcher")!.waitFor(received.position, 15_000);
}

describe("scheduling at ingest on PostgreSQL", () => {
  let herald: TestHerald;
  let receiver: WebhookReceiver;
  let nc: NatsConnection;
  let graphql: GraphqlCall;
  const account = newAccount();
  let published = 0;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    herald = await startTestHerald({ env: { HERALD_SIWE_DOMAIN: TEST_SIWE_DOMAIN } });
    nc = await connect({ servers: NATS_URL });
    graphql = graphqlClient(herald.url, TEST_SIWE_DOMAIN);
  });
  afterAll(async () => {
    await nc?.close();
    await herald?.cleanup();
    await receiver?.close();
  });

  async function publish(transaction: Transaction): Promise<string> {
    const messageId = `ingest-scheduling-${published++}`;
    await jetstream(nc).publish(herald.nats!.txSubject, JSON.stringify(transaction), { msgID: messageId });
    return transactionIdFor(transaction, messageId);
  }

  /** An endpoint and its subscription, made over GraphQL (the commands move the subscription set). */
  async function subscribed(path: string): Promise<{ webhookId: string; subscriptionId: string }> {
    const endpoint = await graphql(CREATE_ENDPOINT, { input: { url: `${receiver.url}${path}`, retries: 1 } }, account);
    const webhookId: string = endpoint.data!.createWebhookEndpoint.webhookEndpoint.webhookId;
    const subscription = await graphql(CREATE_SUBSCRIPTION, { input: { ...seedMatch, webhookId } }, account);
    return {
      webhookId,
      subscriptionId: subscription.data!.createWebhookSubscription.webhookSubscription.subscriptionId,
    };
  }

  async function scheduled(webhookId: string, transactionId: string): Promise<StoredEvent[]> {
    return herald.herald.store.readStream(deliveryStream(deliveryId(webhookId, transactionId)));
  }

  it("a subscription created and a transaction published right after: delivered once, scheduled by ingest, nothing repaired", async () => {
    // No waiting between the two: the fence makes ingest match the subscription created just before.
    const { webhookId } = await subscribed("/fresh");
    const [seed] = fixtureTransactions() as [Transaction];
    const transactionId = await publish(seed);

    await receiver.waitFor(1, "/fresh");
    await audited(herald, transactionId);
    const events = await scheduled(webhookId, transactionId);
    expect(events.filter((event) => event.type === "DeliveryScheduled")).toHaveLength(1);
    const [received] = await herald.herald.store.readStream(transactionStream(transactionId));
    expect(events[0]?.metadata).toMatchObject({ actor: "system:ingest", causationId: received?.id });
    // Handed to this process's worker: leased in the event, no claim needed.
    expect(events[0]?.data).toMatchObject({ lease: { until: expect.any(Number) } });
    expect(receiver.on("/fresh")).toHaveLength(1);
    expect(await repairs(herald)).toBe(0);
  });

  it("a transaction after its subscription was deleted goes nowhere; the other endpoint gets it", async () => {
    const gone = await subscribed("/unsubscribed");
    const kept = await subscribed("/still-subscribed");
    const deleted = await graphql(
      DELETE_SUBSCRIPTION,
      { webhookId: gone.webhookId, subscriptionId: gone.subscriptionId },
      account,
    );
    expect(deleted.data?.deleteWebhookSubscription.success).toBe(true);
    const [seed] = fixtureTransactions() as [Transaction];
    const transactionId = await publish(seed);

    await receiver.waitFor(1, "/still-subscribed");
    await audited(herald, transactionId);
    expect(await scheduled(gone.webhookId, transactionId)).toEqual([]);
    expect(await scheduled(kept.webhookId, transactionId)).not.toEqual([]);
    expect(receiver.on("/unsubscribed")).toHaveLength(0);
    expect(await repairs(herald)).toBe(0);
  });

  it("POST /v1/transactions schedules at ingest too, and the same idempotency key twice schedules once", async () => {
    const { webhookId } = await subscribed("/over-http");
    const [seed] = fixtureTransactions() as [Transaction];
    const post = () =>
      fetch(`${herald.url}/v1/transactions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${TEST_INGEST_TOKEN}`,
          "idempotency-key": "ingest-scheduling-http",
          "content-type": "application/json",
        },
        body: JSON.stringify(seed),
      }).then((response) => response.json() as Promise<{ transactionId: string; duplicate: boolean }>);
    const first = await post();
    const second = await post();
    expect([first.duplicate, second.duplicate]).toEqual([false, true]);

    await receiver.waitFor(1, "/over-http");
    await audited(herald, first.transactionId);
    const events = await scheduled(webhookId, first.transactionId);
    expect(events.filter((event) => event.type === "DeliveryScheduled").map((event) => event.metadata.actor)).toEqual([
      "system:ingest",
    ]);
    expect(receiver.on("/over-http")).toHaveLength(1);
    expect(await repairs(herald)).toBe(0);
  });
});

describe("scheduling at ingest on the EventStoreDB protocol test server", () => {
  let herald: TestHerald;
  let receiver: WebhookReceiver;
  let server: { url: string; stop(): Promise<void> };

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    server = await startEsdbTestServer();
    herald = await startTestHerald({ env: { EVENTSTORE_URL: server.url } });
  });
  afterAll(async () => {
    await herald?.cleanup();
    await server?.stop();
    await receiver?.close();
  });

  it("a TransactionReceived appended without its DeliveryScheduled is healed by the auditor, counted as a repair, and delivered", async () => {
    const store = herald.herald.store;
    expect(store.kind).toBe("esdb");
    const endpoint = await createEndpoint(store, `${receiver.url}/healed`, 1);
    await createSubscription(store, endpoint.webhookId, seedMatch);
    const [seed] = fixtureTransactions() as [Transaction];
    const transactionId = transactionIdFor(seed, "appended-directly");
    // What a crash between the two appends leaves on EventStoreDB: the transaction alone.
    await store.append(
      transactionStream(transactionId),
      [
        {
          type: "TransactionReceived",
          data: {
            transactionId,
            transaction: seed,
            source: "nats",
            messageId: "appended-directly",
            receivedAt: Date.now(),
          },
          metadata: eventMetadata("system:test"),
        },
      ],
      "no_stream",
    );

    await receiver.waitFor(1, "/healed");
    const events = await store.readStream(deliveryStream(deliveryId(endpoint.webhookId, transactionId)));
    expect(events[0]).toMatchObject({ type: "DeliveryScheduled", metadata: { actor: "system:dispatcher" } });
    expect(await repairs(herald)).toBe(1);
  });
});
