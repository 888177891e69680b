import { jetstream } from "@nats-io/jetstream";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DeliveryScheduled } from "../../src/domain/delivery.js";
import { type CrashWorld, closeCrashWorld, openCrashWorld } from "../support/crash-world.js";
import { SEED_COLLECTION } from "../support/fixtures.js";
import { eventsOfType, type HeraldChild, startHeraldChild } from "../support/herald-child.js";
import { createEndpoint, createSubscription } from "../support/webhooks.js";

/** NATS redelivers what a dead consumer held after its ack_wait (jetstream-ingest.ts: 30 s). */
const REDELIVERY_MS = 30_000;

/**
 * The windows that scheduling at ingest and the in-process hand-off open, hit exactly: herald runs
 * as a child process with HERALD_FAULT_AT and kills itself (SIGKILL) at that point, then starts again
 * without it on the same database and NATS names. Attempts take at most 1 s, so a lease lasts 7 s.
 */
describe("hand-off survives SIGKILL", () => {
  let world: CrashWorld;
  let child: HeraldChild | undefined;

  beforeEach(async () => {
    world = await openCrashWorld();
  });
  afterEach(async () => {
    await child?.kill();
    await closeCrashWorld(world);
  });

  async function publish(count: number, prefix: string): Promise<void> {
    const js = jetstream(world.nc);
    await Promise.all(
      Array.from({ length: count }, (_, n) => {
        const transaction = {
          status: "SUCCESS",
          signature: `0x${prefix}${(n + 1).toString(16).padStart(64 - prefix.length, "0")}`,
          message: "",
          events: [{ type: "asset-link", action: "create", args: [`n${n}`], collectionId: SEED_COLLECTION }],
        };
        return js.publish(world.names.txSubject, JSON.stringify(transaction), { msgID: `${prefix}-${n}` });
      }),
    );
  }

  async function subscribedEndpoint(path: string): Promise<string> {
    const endpoint = await createEndpoint(world.store, `${world.receiver.url}${path}`, 10);
    await createSubscription(world.store, endpoint.webhookId, {
      type: "asset-link",
      actions: ["create"],
      collectionId: SEED_COLLECTION,
    });
    return endpoint.webhookId;
  }

  /**
   * herald with the fault armed, until it has killed itself there. Ingest hands deliveries off to
   * endpoints its read models know, so the messages wait for that.
   */
  async function crashAt(faultAt: string, webhookId: string, whileRunning: () => Promise<void>): Promise<void> {
    child = await startHeraldChild(world.database.url, world.names, { HERALD_FAULT_AT: faultAt });
    await expect
      .poll(
        async () =>
          (
            await sql`select 1 from delivery_endpoints where webhook_id = ${webhookId}`
              .execute(world.storage.db)
              .catch(() => ({ rows: [] }))
          ).rows.length,
        {
          timeout: 20_000,
        },
      )
      .toBe(1);
    await whileRunning();
    expect(await child.exited).toBe("SIGKILL");
    expect(child.output()).toContain(`"faultAt":"${faultAt}"`);
  }

  const schedules = async () =>
    (await eventsOfType(world.store, "DeliveryScheduled")) as unknown as (DeliveryScheduled & { stream: string })[];
  const uniqueBodies = (path: string) => new Set(world.receiver.on(path).map((request) => request.body)).size;

  it("between the ingest commit and the NATS ack: after a restart nothing is scheduled twice and everything is delivered", {
    timeout: 150_000,
  }, async () => {
    const TRANSACTIONS = 20;
    const webhookId = await subscribedEndpoint("/a");
    await crashAt("after-ingest-commit", webhookId, () => publish(TRANSACTIONS, "a"));

    // The first batch committed with its schedules; NATS has no ack for it.
    await expect
      .poll(async () => (await eventsOfType(world.store, "TransactionReceived")).length, { timeout: 20_000 })
      .toBeGreaterThan(0);
    const committed = await schedules();
    expect(committed.length).toBeGreaterThan(0);
    // Up to the endpoint's cap (10) were handed off; the rest of the batch waits in the queue unleased.
    expect(committed.some((event) => event.data.lease !== undefined)).toBe(true);

    child = await startHeraldChild(world.database.url, world.names);
    await expect.poll(() => uniqueBodies("/a"), { timeout: REDELIVERY_MS + 60_000, interval: 250 }).toBe(TRANSACTIONS);
    await expect
      .poll(async () => (await eventsOfType(world.store, "DeliverySucceeded")).length, { timeout: 30_000 })
      .toBe(TRANSACTIONS);

    const received = await eventsOfType(world.store, "TransactionReceived");
    const scheduled = await schedules();
    // The committed batch's messages came again from NATS: refused as duplicates, not scheduled again.
    expect(received).toHaveLength(TRANSACTIONS);
    expect(new Set(received.map((event) => event.stream)).size).toBe(TRANSACTIONS);
    expect(scheduled).toHaveLength(TRANSACTIONS);
    expect(new Set(scheduled.map((event) => event.stream)).size).toBe(TRANSACTIONS);
  });

  it("after the hand-off, before the POST: the lease ends and the backstop delivers it once", {
    timeout: 150_000,
  }, async () => {
    const webhookId = await subscribedEndpoint("/b");
    await crashAt("before-post", webhookId, () => publish(1, "b"));

    // Handed off (leased in its DeliveryScheduled) and never sent.
    await expect.poll(async () => (await schedules()).length, { timeout: 20_000 }).toBe(1);
    const [scheduled] = await schedules();
    const lease = scheduled?.data.lease;
    expect(lease).toBeDefined();
    expect(world.receiver.on("/b")).toEqual([]);
    expect(await eventsOfType(world.store, "DeliveryAttempted")).toEqual([]);

    child = await startHeraldChild(world.database.url, world.names);
    const [request] = await world.receiver.waitFor(1, "/b", 60_000);
    // The backstop left the delivery to its (dead) worker until the lease ended.
    expect(request?.at).toBeGreaterThanOrEqual(lease?.until ?? Number.POSITIVE_INFINITY);
    await expect
      .poll(async () => (await eventsOfType(world.store, "DeliverySucceeded")).map((event) => event.stream), {
        timeout: 20_000,
      })
      .toEqual([scheduled?.stream]);
    const attempted = await eventsOfType(world.store, "DeliveryAttempted");
    expect(attempted.map((event) => [event.stream, event.revision])).toEqual([[scheduled?.stream, 1n]]);
    expect(world.receiver.on("/b")).toHaveLength(1);
  });
});
