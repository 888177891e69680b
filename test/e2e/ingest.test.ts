import { jetstream } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import type { HeraldEventType } from "../../src/domain/herald-event.js";
import { fixtureTenantEvents, fixtureTransactions } from "../support/fixtures.js";
import { NATS_URL } from "../support/services.js";
import { startTestHerald, TEST_INGEST_TOKEN, type TestHerald } from "../support/test-herald.js";

describe("ingest: NATS JetStream and HTTP", () => {
  let herald: TestHerald;
  let nc: NatsConnection;

  beforeAll(async () => {
    herald = await startTestHerald({ env: { HERALD_MAX_PAYLOAD_BYTES: "4096" } });
    nc = await connect({ servers: NATS_URL });
  });
  afterAll(async () => {
    await nc?.close();
    await herald?.cleanup();
  });

  async function eventsOfType(type: HeraldEventType): Promise<StoredEvent[]> {
    return herald.herald.store.readAll("start", { filter: { eventTypes: [type] }, maxCount: 10_000 });
  }

  /** The events of that type once there are at least `count`. */
  const atLeast = (type: HeraldEventType, count: number) =>
    vi.waitFor(
      async () => {
        const events = await eventsOfType(type);
        if (events.length < count) throw new Error(`${events.length} of ${count} ${type}`);
        return events;
      },
      { timeout: 10_000, interval: 50 },
    );

  it("appends each published transaction once, however often it is published", async () => {
    const js = jetstream(nc);
    const subject = herald.nats!.txSubject;
    const transactions = fixtureTransactions();
    for (const [index, transaction] of transactions.entries()) {
      const body = JSON.stringify(transaction);
      const h = headers();
      h.set("Nats-Msg-Id", `tx-${index}`);
      await js.publish(subject, body, { headers: h });
      // The same message id again (JetStream drops it) and, for a signed transaction, a new id (herald drops it).
      await js.publish(subject, body, { headers: h });
      const again = headers();
      again.set("Nats-Msg-Id", `tx-${index}-again`);
      if (index > 0) await js.publish(subject, body, { headers: again });
    }
    // Ingest takes the messages in order: once one published after every copy is in, all were handled.
    const marker = { status: "SUCCESS", signature: "0x5ea1ed", message: "marker", events: [] };
    await js.publish(subject, JSON.stringify(marker));
    const received = await atLeast("TransactionReceived", transactions.length + 1);
    expect(received.map((event) => (event.data as { transaction: unknown }).transaction)).toEqual([
      ...transactions,
      marker,
    ]);
    expect(received.every((event) => event.metadata.actor === "system:ingest-nats")).toBe(true);
  });

  it("records malformed messages as rejected, acknowledges them and keeps consuming", async () => {
    const js = jetstream(nc);
    const subject = herald.nats!.txSubject;
    await js.publish(subject, "{not json");
    await js.publish(subject, JSON.stringify({ status: "SUCCESS", events: [{ type: "asset-link" }] }));
    await js.publish(subject, "x".repeat(5000));
    await js.publish(subject, new Uint8Array([0xff, 0xfe]));
    const rejected = await atLeast("TransactionRejected", 4);
    const reasons = rejected.map((event) => (event.data as { reason: string }).reason);
    expect(reasons).toHaveLength(4);
    expect(reasons).toEqual(
      expect.arrayContaining([
        "events[0].action must be a non-empty string",
        "not valid UTF-8",
        "too large: 5000 bytes, the limit is 4096",
        expect.stringMatching(/^not JSON/),
      ]),
    );
    // Still consuming: a good one after the bad ones arrives.
    const before = (await eventsOfType("TransactionReceived")).length;
    await js.publish(subject, JSON.stringify({ status: "SUCCESS", events: [] }));
    const after = await atLeast("TransactionReceived", before + 1);
    expect(after).toHaveLength(before + 1);
    // Nothing is left unacknowledged for redelivery.
    const manager = await jetstream(nc).jetstreamManager();
    const info = await manager.consumers.info(
      herald.env.HERALD_TX_STREAM!,
      `${herald.env.HERALD_NATS_DURABLE}-transactions`,
    );
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });

  it("ingests tenant events from their subject tree", async () => {
    const js = jetstream(nc);
    for (const event of fixtureTenantEvents()) {
      await js.publish(`${herald.nats!.tenantSubjectRoot}.${event.group_id}.${event.wallet_id}`, JSON.stringify(event));
    }
    const received = await atLeast("TenantEventReceived", 3);
    expect(received.map((event) => (event.data as { event: unknown }).event)).toEqual(fixtureTenantEvents());
  });

  it("counts what it ingested on /metrics", async () => {
    const response = await fetch(`${herald.url}/metrics`);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    const accepted = /herald_ingested_total\{kind="transactions",source="nats",outcome="accepted"\} (\d+)/.exec(text);
    const rejected = /herald_ingested_total\{kind="transactions",source="nats",outcome="rejected"\} (\d+)/.exec(text);
    expect(Number(accepted?.[1])).toBeGreaterThanOrEqual(fixtureTransactions().length);
    expect(Number(rejected?.[1])).toBe(4);
    expect(text).toContain("# TYPE herald_projection_lag_seconds gauge");
  });

  describe("HTTP", () => {
    const post = (
      path: string,
      body: string,
      token: string | undefined = TEST_INGEST_TOKEN,
      extra: Record<string, string> = {},
    ) =>
      fetch(`${herald.url}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...extra,
        },
        body,
      });

    it("answers 202 with the transaction id and appends it", async () => {
      const [, signed] = fixtureTransactions();
      const response = await post("/v1/transactions", JSON.stringify(signed));
      expect(response.status).toBe(202);
      const body = (await response.json()) as { transactionId: string; duplicate: boolean };
      expect(body.transactionId).toMatch(/^[0-9a-f-]{36}$/);
      const stream = await herald.herald.store.readStream(`transaction-${body.transactionId}`);
      expect(stream).toHaveLength(1);
    });

    it("deduplicates by idempotency-key", async () => {
      const body = JSON.stringify({ status: "SUCCESS", events: [] });
      const first = (await (
        await post("/v1/transactions", body, TEST_INGEST_TOKEN, { "idempotency-key": "k-1" })
      ).json()) as Record<string, unknown>;
      const second = (await (
        await post("/v1/transactions", body, TEST_INGEST_TOKEN, { "idempotency-key": "k-1" })
      ).json()) as Record<string, unknown>;
      expect(second.transactionId).toBe(first.transactionId);
      expect(first.duplicate).toBe(false);
      expect(second.duplicate).toBe(true);
    });

    it("writes concurrent POSTs together, each on its own: every one appended once, the repeated key a duplicate", async () => {
      const body = JSON.stringify({ status: "SUCCESS", events: [] });
      const keys = [...Array.from({ length: 40 }, (_, index) => `concurrent-${index}`), "concurrent-0"];
      const answers = await Promise.all(
        keys.map(
          async (key) =>
            (await (await post("/v1/transactions", body, TEST_INGEST_TOKEN, { "idempotency-key": key })).json()) as {
              transactionId: string;
              duplicate: boolean;
            },
        ),
      );
      expect(answers.filter((answer) => answer.duplicate)).toHaveLength(1);
      expect(new Set(answers.map((answer) => answer.transactionId)).size).toBe(40);
      for (const answer of answers)
        expect(await herald.herald.store.readStream(`transaction-${answer.transactionId}`)).toHaveLength(1);
    });

    it("answers 400 with a JSON error for a malformed body and writes nothing", async () => {
      const before = (await herald.herald.store.readAll("start", { maxCount: 100_000 })).length;
      const response = await post("/v1/transactions", "{broken");
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        code: "INVALID_MESSAGE",
        error: expect.stringMatching(/not JSON/),
      });
      const tooBig = await post("/v1/transactions", JSON.stringify({ pad: "x".repeat(5000) }));
      expect(tooBig.status).toBe(413);
      expect(((await tooBig.json()) as { code: string }).code).toBeDefined();
      const after = (await herald.herald.store.readAll("start", { maxCount: 100_000 })).length;
      expect(after).toBe(before);
    });

    it("answers 401 without the token or with a wrong one", async () => {
      const body = JSON.stringify({ status: "SUCCESS", events: [] });
      expect((await post("/v1/transactions", body, "")).status).toBe(401);
      const wrong = await post("/v1/events", body, "nope");
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toMatchObject({ code: "UNAUTHENTICATED" });
    });

    it("takes tenant events on /v1/events", async () => {
      const [event] = fixtureTenantEvents();
      const response = await post("/v1/events", JSON.stringify(event));
      expect(response.status).toBe(202);
      const { tenantEventId } = (await response.json()) as { tenantEventId: string };
      const [stored] = await herald.herald.store.readStream(`tenant-event-${tenantEventId}`);
      expect((stored!.data as { event: unknown }).event).toEqual(event);
    });
  });
});
