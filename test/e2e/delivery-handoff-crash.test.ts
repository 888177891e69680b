import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Database, openPostgres } from "../../src/adapters/db/database.js";
import { migrate } from "../../src/adapters/db/migrations.js";
import type { EventStore } from "../../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../../src/adapters/eventstore/postgres-event-store.js";
import type { DeliveryScheduled } from "../../src/domain/delivery.js";
import { eventsOfType, type HeraldChild, startHeraldChild } from "../support/herald-child.js";
import { NATS_URL } from "../support/services.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { natsTestNames, type NatsTestNames } from "../support/test-herald.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";
import { createEndpoint, createSubscription } from "../support/webhooks.js";

const COLLECTION = "1:evm:0x6bca6de2dbdc4e0d41f7273011785ea16ba47182";
/** NATS redelivers what a dead consumer held after its ack_wait (jetstream-ingest.ts: 30 s). */
const REDELIVERY_MS = 30_000;

/**
 * The windows that scheduling at ingest and the in-process hand-off open, hit exactly: herald runs
 * as a child process with HERALD_FAULT_AT and kills itself (SIGKILL) at that point, then starts again
 * without it on the same database and NATS names. Attempts take at most 1 s, so a lease lasts 7 s.
 */
describe("hand-off survives SIGKILL", () => {
  let database: TestDatabase;
  let names: NatsTestNames;
  let storage: Database;
  let store: EventStore;
  let receiver: WebhookReceiver;
  let nc: NatsConnection;
  let child: HeraldChild | undefined;

  beforeEach(async () => {
    database = await createTestDatabase();
    names = natsTestNames();
    storage = await openPostgres(database.url);
    await migrate(storage.db);
    store = await createPostgresEventStore(storage);
    receiver = await startWebhookReceiver();
    nc = await connect({ servers: NATS_URL });
  });
  afterEach(async () => {
    await child?.kill();
    await nc?.close();
    await receiver?.close();
    await store?.close();
    await storage?.close();
    await names?.cleanup();
    await database?.drop();
  });

  async function publish(count: number, prefix: string): Promise<void> {
    const js = jetstream(nc);
    await Promise.all(
      Array.from({ length: count }, (_, n) => {
        const transaction = {
          status: "SUCCESS",
          signature: `0x${prefix}${(n + 1).toString(16).padStart(64 - prefix.length, "0")}`,
          message: "",
          events: [{ type: "asset-link", action: "create", args: [`n${n}`], collectionId: COLLECTION }],
        };
        return js.publish(names.txSubject, JSON.stringify(transaction), { msgID: `${prefix}-${n}` });
      }),
    );
  }

  async function subscribedEndpoint(path: string): Promise<void> {
    const endpoint = await createEndpoint(store, `${receiver.url}${path}`, 10);
    await createSubscription(store, endpoint.webhookId, { type: "asset-link", actions: ["create"], collectionId: COLLECTION });
  }

  /** herald with the fault armed, until it has killed itself there. */
  async function crashAt(faultAt: string, whileRunning: () => Promise<void>): Promise<void> {
    child = await startHeraldChild(database.url, names, { HERALD_FAULT_AT: faultAt });
    await whileRunning();
    expect(await child.exited).toBe("SIGKILL");
    expect(child.output()).toContain(`"faultAt":"${faultAt}"`);
  }

  const schedules = async () => (await eventsOfType(store, "DeliveryScheduled")) as unknown as (DeliveryScheduled & { stream: string })[];
  const uniqueBodies = (path: string) => new Set(receiver.on(path).map((request) => request.body)).size;

  it("between the ingest commit and the NATS ack: after a restart nothing is scheduled twice and everything is delivered", { timeout: 150_000 }, async () => {
    const TRANSACTIONS = 20;
    await subscribedEndpoint("/a");
    await crashAt("after-ingest-commit", () => publish(TRANSACTIONS, "a"));

    // The first batch committed with its schedules, handed off to the dead worker; NATS has no ack for it.
    await expect.poll(async () => (await eventsOfType(store, "TransactionReceived")).length, { timeout: 20_000 }).toBeGreaterThan(0);
    const committed = await schedules();
    expect(committed.length).toBeGreaterThan(0);
    expect(committed.every((event) => event.data.lease !== undefined)).toBe(true);

    child = await startHeraldChild(database.url, names);
    await expect.poll(() => uniqueBodies("/a"), { timeout: REDELIVERY_MS + 60_000, interval: 250 }).toBe(TRANSACTIONS);
    await expect.poll(async () => (await eventsOfType(store, "DeliverySucceeded")).length, { timeout: 30_000 }).toBe(TRANSACTIONS);

    const received = await eventsOfType(store, "TransactionReceived");
    const scheduled = await schedules();
    expect(received).toHaveLength(TRANSACTIONS);
    expect(new Set(received.map((event) => event.stream)).size).toBe(TRANSACTIONS);
    expect(scheduled).toHaveLength(TRANSACTIONS);
    expect(new Set(scheduled.map((event) => event.stream)).size).toBe(TRANSACTIONS);
    // The committed batch's messages came again from NATS and were refused as duplicates, not re-scheduled.
    expect(child.output()).not.toContain('"level":50');
  });

  it("after the hand-off, before the POST: the lease ends and the backstop delivers it once", { timeout: 90_000 }, async () => {
    await subscribedEndpoint("/b");
    await crashAt("before-post", () => publish(1, "b"));

    // Handed off (leased in its DeliveryScheduled) and never sent.
    await expect.poll(async () => (await schedules()).length, { timeout: 20_000 }).toBe(1);
    const [scheduled] = await schedules();
    const lease = scheduled?.data.lease;
    expect(lease).toBeDefined();
    expect(receiver.on("/b")).toEqual([]);
    expect(await eventsOfType(store, "DeliveryAttempted")).toEqual([]);

    child = await startHeraldChild(database.url, names);
    const [request] = await receiver.waitFor(1, "/b", 60_000);
    // The backstop left the delivery to its (dead) worker until the lease ended.
    expect(request?.at).toBeGreaterThanOrEqual(lease?.until ?? Number.POSITIVE_INFINITY);
    await expect.poll(async () => (await eventsOfType(store, "DeliverySucceeded")).map((event) => event.stream), { timeout: 20_000 }).toEqual([scheduled?.stream]);
    const attempted = await eventsOfType(store, "DeliveryAttempted");
    expect(attempted.map((event) => [event.stream, event.revision])).toEqual([[scheduled?.stream, 1n]]);
    expect(receiver.on("/b")).toHaveLength(1);
  });
});
