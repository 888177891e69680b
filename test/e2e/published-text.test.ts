import { randomUUID } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantToken } from "../../src/adapters/auth/tenant-token.js";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import { deliveryId, deliveryStream } from "../../src/domain/delivery.js";
import {
  type TenantEvent,
  type Transaction,
  type TransactionReceived,
  transactionStream,
} from "../../src/domain/ingest-events.js";
import { useDeliveryHarness } from "../support/delivery-harness.js";
import { SEED_COLLECTION } from "../support/fixtures.js";
import { NATS_URL } from "../support/services.js";
import { SseListener } from "../support/sse-listener.js";
import { tenantEventAppend } from "../support/tenant-event-appends.js";
import { TEST_INGEST_TOKEN } from "../support/test-herald.js";

const SECRET = "published-text-tenant-secret";

/**
 * A transaction written as a publisher may write it: its own spacing and key order, integer-like keys
 * (which JavaScript objects put first), numbers spelled `1.50` and `1e2`, an escaped and a raw
 * non-ASCII letter. Parsing and serialising again would change every one of these.
 */
function publishedTransaction(tag: string): string {
  return `{"status":"SUCCESS" , "signature":"0x00","message":"${tag}",\n "events":[{"type":"asset-link","action":"create","args":["a\\u00e9", "é"],"collectionId":"${SEED_COLLECTION}","2":1.50,"1":1e2}],"10":{"b":1,"a":2}}`;
}

function publishedTenantEvent(walletId: string, connectionId: string): string {
  return `{"payload":{"state":"completed","connection_id":"${connectionId}","10":1.0, "note":"\\u00e9é"},"wallet_id":"${walletId}","topic":"connections","origin":"multitenant","group_id":"acme"}`;
}

describe("byte for byte: what ingest received is what the webhook receiver and the SSE client get", () => {
  const harness = useDeliveryHarness({ nats: true, env: { HERALD_TENANT_JWT_SECRET: SECRET } });
  let nc: NatsConnection;

  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
  });
  afterAll(async () => {
    await nc?.close();
  });

  /** The bodies delivered to a fresh endpoint for what `send` ingests. */
  async function deliveredBody(send: () => Promise<void>): Promise<string> {
    const path = `/bytes-${randomUUID()}`;
    await harness.api.endpointAt(`${harness.receiver.url}${path}`);
    await send();
    const [request] = await harness.receiver.waitFor(1, path, 15_000);
    return request!.body;
  }

  it("NATS ingest → webhook body", async () => {
    const text = publishedTransaction(`nats-${randomUUID()}`);
    const body = await deliveredBody(async () => {
      const h = headers();
      h.set("Nats-Msg-Id", randomUUID());
      await jetstream(nc).publish(harness.herald.nats!.txSubject, text, { headers: h });
    });
    expect(body).toBe(text);
    expect(JSON.stringify(JSON.parse(body))).not.toBe(text);
  });

  /** POSTs `text` to /v1/transactions as a publisher would; answers the transaction id. */
  async function ingestText(text: string): Promise<string> {
    const response = await fetch(`${harness.herald.url}/v1/transactions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${TEST_INGEST_TOKEN}`,
        "content-type": "application/json",
        "idempotency-key": randomUUID(),
      },
      body: text,
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { transactionId: string }).transactionId;
  }

  it("HTTP ingest → webhook body", async () => {
    const text = publishedTransaction(`http-${randomUUID()}`);
    const body = await deliveredBody(async () => void (await ingestText(text)));
    expect(body).toBe(text);
  });

  it("the delivery keeps the text alone: GraphQL answers the object, and a redelivery sends the same bytes", async () => {
    const text = publishedTransaction(`redeliver-${randomUUID()}`);
    const path = `/redeliver-${randomUUID()}`;
    harness.receiver.script(path, [{ status: 400, body: "no" }, { status: 200 }]);
    const webhookId = await harness.api.endpointAt(`${harness.receiver.url}${path}`, 0);
    const id = deliveryId(webhookId, await ingestText(text));
    const failed = await harness.api.deliveryWhen(id, (d) => d.status === "FAILED");
    expect(failed.transaction).toEqual(JSON.parse(text));

    await harness.api.ok(`mutation($deliveryId: String!) { redeliver(deliveryId: $deliveryId) { redelivered } }`, {
      deliveryId: id,
    });
    await harness.api.deliveryWhen(id, (d) => d.status === "SUCCEEDED");
    const requests = await harness.receiver.waitFor(2, path, 15_000);
    expect(requests.map((request) => request.body)).toEqual([text, text]);

    const events = await harness.herald.herald.store.readStream(deliveryStream(id));
    const bodies = events.filter((e) => e.type === "DeliveryScheduled" || e.type === "DeliveryRedeliveryRequested");
    expect(bodies.map((event) => event.type)).toEqual(["DeliveryScheduled", "DeliveryRedeliveryRequested"]);
    for (const event of bodies) {
      expect(event.data).toMatchObject({ publishedText: text });
      expect(event.data).not.toHaveProperty("transaction");
    }
  });

  it("a transaction recorded before herald kept the published text is still delivered, re-serialised", async () => {
    const transaction = { ...(JSON.parse(publishedTransaction(`old-${randomUUID()}`)) as Transaction) };
    const body = await deliveredBody(async () => {
      const transactionId = randomUUID();
      const data: TransactionReceived["data"] = { transactionId, transaction, source: "nats", receivedAt: Date.now() };
      const [outcome] = await harness.herald.herald.store.appendMany([
        {
          stream: transactionStream(transactionId),
          expectedRevision: "no_stream",
          events: [{ type: "TransactionReceived", data, metadata: eventMetadata("system:ingest-nats") }],
        },
      ]);
      expect(outcome?.ok).toBe(true);
    });
    // The same JSON value, spelled as the store gives it back (jsonb orders keys its own way).
    expect(JSON.parse(body)).toEqual(transaction);
  });

  describe("SSE data", () => {
    const listen = (walletId: string, connectionId: string) =>
      new SseListener(
        harness.herald.url,
        walletId,
        "connections",
        createTenantToken(SECRET, { kind: "tenant", walletId }),
      ).waitForEvent("connection_id", connectionId, "completed");

    it("NATS ingest → SSE data", async () => {
      const [walletId, connectionId] = [randomUUID(), randomUUID()];
      const text = publishedTenantEvent(walletId, connectionId);
      const waiting = listen(walletId, connectionId);
      await jetstream(nc).publish(`${harness.herald.nats!.tenantSubjectRoot}.acme.${walletId}`, text);
      expect((await waiting).data).toBe(text);
    });

    it("HTTP ingest → SSE data", async () => {
      const [walletId, connectionId] = [randomUUID(), randomUUID()];
      const text = publishedTenantEvent(walletId, connectionId);
      const waiting = listen(walletId, connectionId);
      const response = await fetch(`${harness.herald.url}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, "content-type": "application/json" },
        body: text,
      });
      expect(response.status).toBe(202);
      expect((await waiting).data).toBe(text);
    });

    it("a tenant event recorded before herald kept the published text is still sent, re-serialised", async () => {
      const [walletId, connectionId] = [randomUUID(), randomUUID()];
      const event = JSON.parse(publishedTenantEvent(walletId, connectionId)) as TenantEvent;
      const waiting = listen(walletId, connectionId);
      const [outcome] = await harness.herald.herald.store.appendMany([tenantEventAppend(event, Date.now())]);
      expect(outcome?.ok).toBe(true);
      expect(JSON.parse((await waiting).data)).toEqual(event);
    });
  });
});
