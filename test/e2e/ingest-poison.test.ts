import { connect as connectTcp } from "node:net";
import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTenantToken } from "../../src/adapters/auth/tenant-token.js";
import type { StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import type { HeraldEventType } from "../../src/domain/herald-event.js";
import { SEED_COLLECTION } from "../support/fixtures.js";
import { goodTenantEvent, goodTransaction, poisonMessages } from "../support/poison-messages.js";
import { NATS_URL } from "../support/services.js";
import { SseClient } from "../support/sse-client.js";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";
import { createEndpoint, createSubscription } from "../support/webhooks.js";

const SECRET = "poison-test-tenant-secret";
const MAX_BYTES = 16_384;
const GOOD = 16;

describe("poison messages on NATS and HTTP", () => {
  let herald: TestHerald;
  let receiver: WebhookReceiver;
  let nc: NatsConnection;
  let js: JetStreamClient;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    herald = await startTestHerald({
      env: {
        HERALD_TENANT_JWT_SECRET: SECRET,
        HERALD_MAX_PAYLOAD_BYTES: String(MAX_BYTES),
        HERALD_SSE_TIMEOUT_S: "60",
      },
    });
    receiver = await startWebhookReceiver();
    nc = await connect({ servers: NATS_URL });
    js = jetstream(nc);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await nc?.close();
    await receiver?.close();
    await herald?.cleanup();
  });

  const eventsOfType = (type: HeraldEventType) =>
    herald.herald.store.readAll("start", { filter: { eventTypes: [type] }, maxCount: 10_000 });
  const codesOf = (events: StoredEvent[]) => events.map((event) => (event.data as { code: string }).code).sort();

  /** Publishes the poison messages among the good ones, one before the first good one and then one after every second. */
  async function publishInterleaved(
    subjectOf: (index: number) => string,
    good: readonly unknown[],
    poison: readonly { body: Uint8Array }[],
    prefix: string,
  ) {
    const queue = [...poison];
    for (const [index, message] of good.entries()) {
      if (index % 2 === 0) {
        const bad = queue.shift();
        if (bad) await js.publish(subjectOf(index), bad.body, { msgID: `${prefix}-bad-${index}` });
      }
      await js.publish(subjectOf(index), JSON.stringify(message), { msgID: `${prefix}-good-${index}` });
    }
  }

  async function consumerIsEmpty(name: string): Promise<boolean> {
    const manager = await jetstreamManager(nc);
    const stream = name === "transactions" ? herald.env.HERALD_TX_STREAM! : herald.env.HERALD_TENANT_EVENTS_STREAM!;
    const info = await manager.consumers.info(stream, `${herald.env.HERALD_NATS_DURABLE}-${name}`);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }

  it("delivers every good transaction behind poison to a real receiver and records each poison as rejected", async () => {
    const endpoint = await createEndpoint(herald.herald.store, `${receiver.url}/poison`);
    await createSubscription(herald.herald.store, endpoint.webhookId, {
      type: "asset-link",
      actions: ["create"],
      collectionId: SEED_COLLECTION,
    });
    const good = Array.from({ length: GOOD }, (_, n) => goodTransaction(n));
    const poison = poisonMessages(goodTransaction(999), MAX_BYTES);

    await publishInterleaved(() => herald.nats!.txSubject, good, poison, "tx");

    const delivered = await receiver.waitFor(GOOD, "/poison");
    expect(delivered.map((request) => (JSON.parse(request.body) as { signature: string }).signature).sort()).toEqual(
      good.map((transaction) => transaction.signature).sort(),
    );
    // Every poison is recorded, and nothing waits on the consumer.
    await expect
      .poll(async () => (await eventsOfType("TransactionRejected")).length)
      .toBeGreaterThanOrEqual(poison.length);
    expect(codesOf(await eventsOfType("TransactionRejected"))).toEqual(poison.map((message) => message.code).sort());
    await expect.poll(() => consumerIsEmpty("transactions")).toBe(true);
    expect((await fetch(`${herald.url}/readyz`)).status).toBe(200);
  });

  it("answers every good tenant event behind poison to its SSE waiter and records each poison as rejected", async () => {
    const good = Array.from({ length: GOOD }, () => goodTenantEvent());
    const poison = poisonMessages(goodTenantEvent(), MAX_BYTES);
    for (const event of good) {
      const key = createTenantToken(SECRET, { kind: "tenant", walletId: event.wallet_id }, { ttlS: 600 });
      const url = `${herald.url}/v1/sse/${event.wallet_id}/connections/connection_id/${String(event.payload.connection_id)}/completed?look_back=0`;
      clients.push(new SseClient(url, { "x-api-key": key }));
    }
    await Promise.all(clients.map((client) => client.next("open")));

    const subjectOf = (index: number) => `${herald.nats!.tenantSubjectRoot}.acme.${good[index]!.wallet_id}`;
    await publishInterleaved(subjectOf, good, poison, "tenant");

    const answers = await Promise.all(clients.map((client) => client.next("message", 20_000)));
    expect(answers.map((answer) => JSON.parse(answer.data) as unknown)).toEqual(good);
    await expect
      .poll(async () => (await eventsOfType("TenantEventRejected")).length)
      .toBeGreaterThanOrEqual(poison.length);
    expect(codesOf(await eventsOfType("TenantEventRejected"))).toEqual(poison.map((message) => message.code).sort());
    await expect.poll(() => consumerIsEmpty("tenant-events")).toBe(true);
  });

  it("counts rejections by reason on /metrics, never as accepted, and shows both consumers ready and not stalled", async () => {
    const text = await (await fetch(`${herald.url}/metrics`)).text();
    const sample = (pattern: RegExp) => Number(pattern.exec(text)?.[1]);
    expect(
      sample(/herald_ingest_rejected_total\{kind="transactions",source="nats",reason="nul_character"\} (\d+)/),
    ).toBe(2);
    expect(sample(/herald_ingest_rejected_total\{kind="tenantEvents",source="nats",reason="too_deep"\} (\d+)/)).toBe(1);
    expect(sample(/herald_ingested_total\{kind="transactions",source="nats",outcome="accepted"\} (\d+)/)).toBe(GOOD);
    expect(sample(/herald_ingested_total\{kind="tenantEvents",source="nats",outcome="rejected"\} (\d+)/)).toBe(8);
    expect(text).toContain('herald_ingest_stalled{consumer="transactions",stream="');
    expect(text).not.toMatch(/herald_ingest_stalled\{[^}]*\} 1/);
    const ready = (await (await fetch(`${herald.url}/readyz`)).json()) as {
      failing: string[];
      checks: { name: string }[];
    };
    expect(ready.failing).toEqual([]);
    expect(ready.checks.map((check) => check.name)).toEqual(
      expect.arrayContaining(["nats-ingest:transactions", "nats-ingest:tenant-events"]),
    );
  });

  describe("HTTP ingest", () => {
    it.each(["/v1/transactions", "/v1/events"])(
      "answers %s with a 4xx JSON naming the reason for each poison, and writes nothing",
      async (path) => {
        const template = path === "/v1/events" ? goodTenantEvent() : goodTransaction(5000);
        const before = (await herald.herald.store.readAll("start", { maxCount: 100_000 })).length;
        for (const poison of poisonMessages(template, MAX_BYTES)) {
          const response = await fetch(`${herald.url}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${TEST_INGEST_TOKEN}` },
            body: Buffer.from(poison.body),
          });
          const body = (await response.json()) as { code: string; reason?: string; error: string };
          // Over the limit is refused while the body is read (413, fastify's own code), the rest at decode.
          if (poison.code === "too_large")
            expect([response.status, body.code]).toEqual([413, "FST_ERR_CTP_BODY_TOO_LARGE"]);
          else expect([response.status, body.code, body.reason]).toEqual([400, "INVALID_MESSAGE", poison.code]);
        }
        expect((await herald.herald.store.readAll("start", { maxCount: 100_000 })).length).toBe(before);
      },
    );

    it("refuses a request without the token before reading its body: a trickled body gets 401 at once and the connection closes", async () => {
      const { port } = new URL(herald.url);
      const socket = connectTcp(Number(port), "127.0.0.1");
      const answer = new Promise<string>((resolve, reject) => {
        let text = "";
        socket.on("data", (chunk) => (text += chunk.toString("latin1")));
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
      });
      await new Promise<void>((resolve) => socket.once("connect", resolve));
      socket.write(
        "POST /v1/transactions HTTP/1.1\r\nHost: herald\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
      );
      // Trickle a byte now and then; the answer must not wait for the 99,999 still to come.
      let sent = 1;
      const trickle = setInterval(() => {
        if (!socket.destroyed) socket.write(" ");
        sent++;
      }, 200);
      const text = await answer.finally(() => clearInterval(trickle));
      expect(sent).toBeLessThan(100_000);
      expect(text).toMatch(/^HTTP\/1\.1 401 /);
      expect(text.toLowerCase()).toContain("connection: close");
      expect(text).toContain('"code":"UNAUTHENTICATED"');
    });
  });
});
