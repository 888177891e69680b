import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { EventStore, StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { type DeliveryAttempted, type DeliveryEvent, deliveryId, deliveryStream } from "../../src/domain/delivery.js";
import { transactionIdFor } from "../../src/domain/ingest-decoding.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { startEsdbTestServer } from "../support/esdb-test-server/index.js";
import { fixtureTransactions, SEED_COLLECTION } from "../support/fixtures.js";
import { NATS_URL } from "../support/services.js";
import { newAccount, signedToken, TEST_SIWE_DOMAIN } from "../support/siwe.js";
import { startTestHerald, type TestHerald } from "../support/test-herald.js";
import { untilQueueIdle } from "../support/until-queue-idle.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";
import { changeEndpoint, createEndpoint, createSubscription, type TestEndpoint } from "../support/webhooks.js";

const BASE_MS = 400;
const seedMatch = { type: "asset-link", actions: ["create", "delete"], collectionId: SEED_COLLECTION };

// The Asset Register documentation's mutations, asking for the Standard Webhooks signing secret as well.
const CREATE_WEBHOOK_ENDPOINT = `mutation CreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { webhookEndpoint { webhookId apiKey signingSecret retries } }
}`;
const CREATE_WEBHOOK_SUBSCRIPTION = `mutation CreateWebhookSubscription($input: CreateWebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) { webhookSubscription { subscriptionId webhookId } }
}`;

/**
 * Where the event log lives. PostgreSQL holds the read models and the queue on every backend; with
 * an event store, `start` returns the EVENTSTORE_URL herald is given.
 */
interface EventStoreBackend {
  readonly name: string;
  /** The adapter herald must end up on (so a variant can never quietly run on the default). */
  readonly kind: EventStore["kind"];
  start(): Promise<{ readonly env: Record<string, string>; stop(): Promise<void> }>;
}

const postgres: EventStoreBackend = {
  name: "postgres",
  kind: "postgres",
  start: async () => ({ env: {}, stop: async () => {} }),
};

const esdbTestServer: EventStoreBackend = {
  name: "esdb (protocol test server)",
  kind: "esdb",
  async start() {
    const server = await startEsdbTestServer();
    return { env: { EVENTSTORE_URL: server.url }, stop: () => server.stop() };
  },
};

/** The same tests on every backend: nothing below knows which one it runs on. */
function describeDelivery(backend: EventStoreBackend): void {
  describe(`delivery on ${backend.name}: NATS → match → POST, retried per the seed, every attempt in the store`, () => {
    let herald: TestHerald;
    let receiver: WebhookReceiver;
    let nc: NatsConnection;
    let eventStore: { stop(): Promise<void> } | undefined;
    let published = 0;

    beforeAll(async () => {
      receiver = await startWebhookReceiver();
      const started = await backend.start();
      eventStore = started;
      herald = await startTestHerald({
        env: {
          HERALD_RETRY_BASE_MS: String(BASE_MS),
          HERALD_RETRY_MAX_MS: "10000",
          HERALD_DELIVERY_TIMEOUT_MS: "2000",
          HERALD_SIWE_DOMAIN: TEST_SIWE_DOMAIN,
          ...started.env,
        },
      });
      nc = await connect({ servers: NATS_URL });
    });
    afterAll(async () => {
      await nc?.close();
      await herald?.cleanup();
      await eventStore?.stop();
      await receiver?.close();
    });

    it("runs on its backend, and /readyz reports the event store ready", async () => {
      expect(store().kind).toBe(backend.kind);
      const response = await fetch(`${herald.url}/readyz`);
      const body = (await response.json()) as { status: string; checks: { name: string; ok: boolean }[] };
      expect(response.status).toBe(200);
      expect(body.checks).toContainEqual({ name: "eventstore", ok: true });
    });

    const store = () => herald.herald.store;

    /** Publishes a transaction on NATS with a message id of its own; returns its transaction id. */
    async function publish(transaction: Transaction): Promise<string> {
      const messageId = `delivery-test-${published++}`;
      await jetstream(nc).publish(herald.nats!.txSubject, JSON.stringify(transaction), { msgID: messageId });
      return transactionIdFor(transaction, messageId);
    }

    async function graphql(query: string, variables: object, token: string): Promise<any> {
      const response = await fetch(`${herald.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: unknown };
      expect(body.errors).toBeUndefined();
      return body.data;
    }

    async function endpointAt(path: string, retries = 5): Promise<TestEndpoint> {
      const endpoint = await createEndpoint(store(), `${receiver.url}${path}`, retries);
      await createSubscription(store(), endpoint.webhookId, seedMatch);
      return endpoint;
    }

    async function history(
      endpoint: TestEndpoint,
      transactionId: string,
      until: (events: StoredEvent[]) => boolean,
      timeoutMs = 15_000,
    ) {
      const stream = deliveryStream(deliveryId(endpoint.webhookId, transactionId));
      return vi.waitFor(
        async () => {
          const events = await store().readStream(stream);
          if (!until(events)) throw new Error(`${stream}: ${events.map((e) => e.type).join(", ") || "nothing"}`);
          return events as (StoredEvent & DeliveryEvent)[];
        },
        { timeout: timeoutMs, interval: 50 },
      );
    }

    const finished = (events: StoredEvent[]) =>
      events.some((e) => e.type === "DeliverySucceeded" || e.type === "DeliveryFailed");
    const types = (events: StoredEvent[]) => events.map((e) => e.type);

    it("POSTs the seed's transaction whole, with the API key and a Standard Webhooks signature (endpoint made over GraphQL)", async () => {
      const token = await signedToken(newAccount(), TEST_SIWE_DOMAIN);
      const created = await graphql(
        CREATE_WEBHOOK_ENDPOINT,
        { input: { url: `${receiver.url}/ok`, retries: 5 } },
        token,
      );
      const endpoint: TestEndpoint = created.createWebhookEndpoint.webhookEndpoint;
      expect(endpoint.signingSecret).toMatch(/^whsec_/);
      await graphql(CREATE_WEBHOOK_SUBSCRIPTION, { input: { ...seedMatch, webhookId: endpoint.webhookId } }, token);
      // An endpoint whose subscription does not match gets nothing.
      const other = await createEndpoint(store(), `${receiver.url}/other`);
      await createSubscription(store(), other.webhookId, { ...seedMatch, actions: ["create"] });
      const [seed] = fixtureTransactions() as [Transaction];
      const transactionId = await publish(seed);

      const [request] = await receiver.waitFor(1, "/ok");
      expect(JSON.parse(request!.body)).toEqual(seed);
      expect(request!.headers["content-type"]).toBe("application/json");
      expect(request!.headers["x-api-key"]).toBe(endpoint.apiKey);
      const id = deliveryId(endpoint.webhookId, transactionId);
      expect(request!.headers["webhook-id"]).toBe(id);
      const verified = new Webhook(endpoint.signingSecret).verify(request!.body, {
        "webhook-id": request!.headers["webhook-id"] as string,
        "webhook-timestamp": request!.headers["webhook-timestamp"] as string,
        "webhook-signature": request!.headers["webhook-signature"] as string,
      });
      expect(verified).toEqual(seed);

      const events = await history(endpoint, transactionId, finished);
      expect(types(events)).toEqual(["DeliveryScheduled", "DeliveryAttempted", "DeliverySucceeded"]);
      expect(events[1]?.data).toMatchObject({ attempt: 1, status: 200, url: `${receiver.url}/ok` });
      expect(receiver.on("/other")).toHaveLength(0);
      // Secrets never reach the logs.
      const logs = herald.logs.join("\n");
      expect(logs).not.toContain(endpoint.apiKey);
      expect(logs).not.toContain(endpoint.signingSecret.slice(6));
    });

    it("503, then 429 with Retry-After, then 200: exactly three attempts, spaced as the policy says; 400 gets one; a negative Retry-After stops", async () => {
      receiver.script("/flaky", [
        { status: 503, body: "down" },
        { status: 429, headers: { "retry-after": "2" } },
        { status: 200 },
      ]);
      receiver.script("/bad", [{ status: 400, body: "x".repeat(10_000) }]);
      receiver.script("/negative", [{ status: 429, headers: { "retry-after": "-1" } }]);
      receiver.script("/exhausted", [{ status: 500 }]);
      const flaky = await endpointAt("/flaky");
      const bad = await endpointAt("/bad");
      const negative = await endpointAt("/negative");
      const exhausted = await endpointAt("/exhausted", 1);
      const [, twoEvents] = fixtureTransactions() as [Transaction, Transaction];
      const transactionId = await publish(twoEvents);

      const flakyEvents = await history(flaky, transactionId, finished);
      expect(types(flakyEvents)).toEqual([
        "DeliveryScheduled",
        "DeliveryAttempted",
        "DeliveryRetryScheduled",
        "DeliveryAttempted",
        "DeliveryRetryScheduled",
        "DeliveryAttempted",
        "DeliverySucceeded",
      ]);
      const attempts = flakyEvents
        .filter((e): e is StoredEvent & DeliveryAttempted => e.type === "DeliveryAttempted")
        .map((e) => e.data);
      expect(attempts.map((a) => [a.attempt, a.status, a.retryAfter])).toEqual([
        [1, 503, undefined],
        [2, 429, "2"],
        [3, 200, undefined],
      ]);
      expect(attempts[0]?.responseBody).toBe("down");
      const requests = receiver.on("/flaky");
      expect(requests).toHaveLength(3);
      // Retry 1 waits the schedule (base, + ≤10% jitter); retry 2 waits the longer of 2 × base and Retry-After 2 s.
      const gap1 = requests[1]!.at - requests[0]!.at;
      const gap2 = requests[2]!.at - requests[1]!.at;
      expect(gap1).toBeGreaterThanOrEqual(BASE_MS);
      expect(gap1).toBeLessThan(BASE_MS * 1.1 + 1000);
      expect(gap2).toBeGreaterThanOrEqual(2000);
      expect(gap2).toBeLessThan(2000 + 1000);
      // Never earlier than scheduled: each attempt starts at or after the due time recorded before it.
      const dues = flakyEvents
        .filter((e) => e.type === "DeliveryRetryScheduled")
        .map((e) => (e.data as { dueAt: number }).dueAt);
      expect(attempts[1]!.startedAt).toBeGreaterThanOrEqual(dues[0]!);
      expect(attempts[2]!.startedAt).toBeGreaterThanOrEqual(dues[1]!);

      const badEvents = await history(bad, transactionId, finished);
      expect(types(badEvents)).toEqual(["DeliveryScheduled", "DeliveryAttempted", "DeliveryFailed"]);
      expect(badEvents[2]?.data).toMatchObject({ reason: "not_retryable", attempts: 1 });
      expect(Buffer.byteLength((badEvents[1]!.data as { responseBody: string }).responseBody)).toBe(4096);

      const negativeEvents = await history(negative, transactionId, finished);
      expect(types(negativeEvents)).toEqual(["DeliveryScheduled", "DeliveryAttempted", "DeliveryFailed"]);
      expect(negativeEvents[2]?.data).toMatchObject({ reason: "negative_retry_after" });

      const exhaustedEvents = await history(exhausted, transactionId, finished);
      expect(types(exhaustedEvents).filter((t) => t === "DeliveryAttempted")).toHaveLength(2);
      expect(exhaustedEvents.at(-1)?.data).toMatchObject({ reason: "retries_exhausted", attempts: 2 });

      // Nothing more arrives later.
      for (const endpoint of [flaky, bad, negative, exhausted]) await untilQueueIdle(herald.herald, endpoint.webhookId);
      expect(receiver.on("/bad")).toHaveLength(1);
      expect(receiver.on("/negative")).toHaveLength(1);
      expect(receiver.on("/exhausted")).toHaveLength(2);
      expect(receiver.on("/flaky")).toHaveLength(3);
    });

    it("pausing stops pending deliveries (recorded), resuming reschedules them, a URL update applies to the next attempt, deleting ends them", async () => {
      // Retry-After gives the test time to change each endpoint before its retry is due.
      const later = { status: 503, headers: { "retry-after": "3" } };
      receiver.script("/paused", [later, { status: 200 }]);
      // Its retry is due after the paused one's: once it is sent, the paused one's due time has passed.
      receiver.script("/moved-from", [{ status: 503, headers: { "retry-after": "5" } }]);
      receiver.script("/deleted", [later]);
      const paused = await endpointAt("/paused");
      const moved = await endpointAt("/moved-from");
      const deleted = await endpointAt("/deleted");
      const [, , mixed] = fixtureTransactions() as [Transaction, Transaction, Transaction];
      const transaction = {
        ...mixed,
        events: [...mixed.events, { type: "asset-link", action: "create", args: [], collectionId: SEED_COLLECTION }],
      };
      const transactionId = await publish(transaction);

      // Each endpoint's first attempt fails; change the endpoints before the retry is due.
      await receiver.waitFor(1, "/paused");
      await receiver.waitFor(1, "/moved-from");
      await receiver.waitFor(1, "/deleted");
      await changeEndpoint(store(), paused.webhookId, {
        type: "WebhookEndpointPaused",
        data: { webhookId: paused.webhookId },
      });
      await changeEndpoint(store(), moved.webhookId, {
        type: "WebhookEndpointUpdated",
        data: { webhookId: moved.webhookId, url: `${receiver.url}/moved-to` },
      });
      await changeEndpoint(store(), deleted.webhookId, {
        type: "WebhookEndpointDeleted",
        data: { webhookId: deleted.webhookId },
      });

      const pausedEvents = await history(paused, transactionId, (events) => types(events).includes("DeliveryPaused"));
      expect(types(pausedEvents).slice(-1)).toEqual(["DeliveryPaused"]);
      const movedEvents = await history(moved, transactionId, finished);
      const pausedDue = pausedEvents.find((e) => e.type === "DeliveryRetryScheduled")?.data.dueAt ?? 0;
      const movedRetry = movedEvents.filter((e) => e.type === "DeliveryAttempted").at(-1)?.data.startedAt ?? 0;
      expect(movedRetry).toBeGreaterThan(pausedDue);
      expect(receiver.on("/paused")).toHaveLength(1);
      await changeEndpoint(store(), paused.webhookId, {
        type: "WebhookEndpointResumed",
        data: { webhookId: paused.webhookId },
      });
      const resumedEvents = await history(paused, transactionId, finished);
      expect(types(resumedEvents).slice(-4)).toEqual([
        "DeliveryPaused",
        "DeliveryResumed",
        "DeliveryAttempted",
        "DeliverySucceeded",
      ]);
      expect(receiver.on("/paused")).toHaveLength(2);

      expect(receiver.on("/moved-to")).toHaveLength(1);
      expect(
        movedEvents.filter((e) => e.type === "DeliveryAttempted").map((e) => (e.data as { url: string }).url),
      ).toEqual([`${receiver.url}/moved-from`, `${receiver.url}/moved-to`]);

      const deletedEvents = await history(deleted, transactionId, finished);
      expect(deletedEvents.at(-1)).toMatchObject({
        type: "DeliveryFailed",
        data: { reason: "endpoint_deleted", attempts: 1 },
      });
      expect(receiver.on("/deleted")).toHaveLength(1);
    });

    it("never schedules a transaction twice for one endpoint, even when it is published again", async () => {
      const endpoint = await endpointAt("/once");
      const [, twoEvents] = fixtureTransactions() as [Transaction, Transaction];
      const signed = { ...twoEvents, signature: "0x1234567890abcdef" };
      const signedId = await publish(signed);
      await publish(signed);
      // Ingest takes the messages in order: once a later transaction is scheduled, the second
      // publish was handled.
      const marker = await publish({ ...twoEvents, signature: "0xfeedfeedfeedfeed" });
      const scheduledFor = async () =>
        (await store().readAll("start", { filter: { eventTypes: ["DeliveryScheduled"] }, maxCount: 10_000 }))
          .map((e) => e.data as { webhookId: string; transactionId: string })
          .filter((data) => data.webhookId === endpoint.webhookId)
          .map((data) => data.transactionId);
      await expect.poll(scheduledFor).toContain(marker);
      expect(await scheduledFor()).toEqual([signedId, marker]);
      const requests = await receiver.waitFor(2, "/once");
      expect(requests.map((request) => (JSON.parse(request.body) as { signature: string }).signature).sort()).toEqual(
        [signed.signature, "0xfeedfeedfeedfeed"].sort(),
      );
    });

    // Last: ingest scheduled every delivery above in the append of its transaction, so the dispatch
    // auditor found nothing missing. EventStoreDB appends the two apart, so there it may repair.
    it.runIf(backend.kind === "postgres")("left the dispatch auditor nothing to repair", async () => {
      const metrics = await (await fetch(`${herald.url}/metrics`)).text();
      expect(metrics).toMatch(/^herald_dispatch_repairs_total 0$/m);
    });
  });
}

describeDelivery(postgres);
describeDelivery(esdbTestServer);

const EVENTSTORE_URL = process.env.EVENTSTORE_URL ?? "";

describe.skipIf(EVENTSTORE_URL === "")(
  "delivery on a real EventStoreDB (skipped unless EVENTSTORE_URL is set: esdb://127.0.0.1:2113?tls=false after docker compose up -d eventstore)",
  () => {
    describeDelivery({
      name: "esdb (real server)",
      kind: "esdb",
      start: async () => ({ env: { EVENTSTORE_URL }, stop: async () => {} }),
    });
  },
);
