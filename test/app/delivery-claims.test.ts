import { sql } from "kysely";
import { beforeEach, expect, it } from "vitest";
import type { ReadFrom, StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { attemptsElsewhere, claimDeliveries, pruneLeases, releaseDeliveries } from "../../src/app/delivery-claims.js";
import { takeEndpointSendSlots } from "../../src/app/delivery-send-slots.js";
import { endpointStream } from "../../src/domain/webhook-events.js";
import { deliveryQueueProjection } from "../../src/projections/delivery-queue.js";
import type { AnyProjection } from "../../src/projections/projection.js";
import { applyBatch, resetProjection } from "../../src/projections/projection-batch.js";
import { deliveryEvents, endpointCreated } from "../support/delivery-events.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { storedEvents } from "../support/stored-events.js";

/**
 * Claims are the workers' own rows (delivery_leases), beside the queue the projection rebuilds at
 * will: a claim holds until it expires or the delivery's step moves on, never while an attempt's
 * outcome is not applied, and a rebuild of the queue keeps both the claims and the rate limits' state.
 */
const log = useEventLogDatabase();
const projection: AnyProjection = deliveryQueueProjection();
const url = "http://127.0.0.1:1/x";
let stored = storedEvents();
let from: ReadFrom = "start";
/** Everything applied since the queue was last reset, to apply again after a rebuild. */
let history: StoredEvent[] = [];

const apply = async (...events: StoredEvent[]) => {
  await applyBatch(log.database.db, projection, from, events);
  from = events.at(-1)!.position;
  history.push(...events);
};
const claim = (worker: string, leaseMs = 60_000) =>
  claimDeliveries(log.database.db, { limit: 1000, leaseMs, skipWebhooks: [], worker });
const ids = (claimed: readonly { deliveryId: string }[]) => claimed.map((delivery) => delivery.deliveryId).sort();
const leases = async () =>
  (
    await sql<{ delivery_id: string }>`select delivery_id from delivery_leases order by delivery_id`.execute(
      log.database.db,
    )
  ).rows.map((row) => row.delivery_id);

beforeEach(async () => {
  await resetProjection(log.database.db, projection);
  await sql`delete from delivery_leases`.execute(log.database.db);
  await sql`delete from delivery_send_rates`.execute(log.database.db);
  stored = storedEvents();
  from = "start";
  history = [];
});

async function endpoint(rateLimit?: number): Promise<string> {
  const webhookId = crypto.randomUUID();
  await apply(endpointCreated(stored, { webhookId, url, ...(rateLimit === undefined ? {} : { rateLimit }) }));
  return webhookId;
}

/** A delivery due now, and the events a worker would append for it. */
async function due(webhookId: string) {
  const delivery = deliveryEvents(stored, { webhookId, url, scheduledAt: Date.now() - 1000 });
  await apply(delivery.scheduled);
  return delivery;
}

it("a claimed delivery is not claimed by another worker until its lease expires", async () => {
  const webhookId = await endpoint();
  const delivery = await due(webhookId);
  expect(ids(await claim("first", 300))).toEqual([delivery.deliveryId]);
  expect(await claim("second")).toEqual([]);
  // The first worker died: its claim expires and the delivery is claimed again, at the same revision.
  await expect
    .poll(() => claim("second"), { timeout: 5000 })
    .toMatchObject([{ deliveryId: delivery.deliveryId, revision: 0n }]);
  expect(await claim("first")).toEqual([]);
});

it("concurrent claims never hand one delivery to two workers", async () => {
  const webhookId = await endpoint();
  const deliveries = [];
  for (let i = 0; i < 60; i++) deliveries.push(await due(webhookId));
  const claims = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      claimDeliveries(log.database.db, { limit: 20, leaseMs: 60_000, skipWebhooks: [], worker: `w${i}` }),
    ),
  );
  const all = claims.flatMap(ids);
  expect(new Set(all).size).toBe(all.length);
  // Every delivery is claimed by the end, by one worker each.
  const rest = await claim("late");
  expect([...all, ...ids(rest)].sort()).toEqual(deliveries.map((delivery) => delivery.deliveryId).sort());
});

it("a delivery mid-step is claimed by nobody, even after its lease expired, until the outcome is applied", async () => {
  const webhookId = await endpoint();
  const delivery = await due(webhookId);
  expect(ids(await claim("first", 1))).toEqual([delivery.deliveryId]);
  await expect
    .poll(
      async () => (await sql`select 1 from delivery_leases where leased_until < now()`.execute(log.database.db)).rows,
    )
    .toHaveLength(1);

  // The attempt is applied; its outcome, in the same append, comes in the next batch.
  await apply(delivery.attempted());
  expect(await claim("second")).toEqual([]);
  expect(await attemptsElsewhere(log.database.db, [webhookId], { worker: "second", leaseMs: 1, attemptMs: 1 })).toEqual(
    new Map(),
  );

  await apply(delivery.retry());
  expect(await claim("second")).toMatchObject([{ deliveryId: delivery.deliveryId, revision: 2n, attempts: 1 }]);
});

it("an outcome ends the claim taken before it, and the claim stops counting as an attempt elsewhere", async () => {
  const webhookId = await endpoint();
  const delivery = await due(webhookId);
  await claim("first");
  const counted = () =>
    attemptsElsewhere(log.database.db, undefined, { worker: "second", leaseMs: 60_000, attemptMs: 30_000 });
  expect(await counted()).toEqual(new Map([[webhookId, 1]]));
  await apply(delivery.attempted());
  expect(await counted()).toEqual(new Map([[webhookId, 1]]));
  await apply(delivery.retry());
  expect(await counted()).toEqual(new Map());
  expect(await claim("second")).toMatchObject([{ deliveryId: delivery.deliveryId, revision: 2n }]);
});

it("a rebuild of the queue keeps the live claims and the endpoints' rate-limit schedules", async () => {
  const webhookId = await endpoint(1);
  const delivery = await due(webhookId);
  expect(ids(await claim("first"))).toEqual([delivery.deliveryId]);
  expect(await takeEndpointSendSlots(log.database.db, new Map([[webhookId, 1]]))).toMatchObject(
    new Map([[webhookId, { granted: 1 }]]),
  );

  const events = history;
  await resetProjection(log.database.db, projection);
  from = "start";
  history = [];
  await apply(...events);

  expect(await claim("second")).toEqual([]);
  expect(await leases()).toEqual([delivery.deliveryId]);
  // One attempt a second: the slot taken before the rebuild still counts.
  const [grant] = (await takeEndpointSendSlots(log.database.db, new Map([[webhookId, 1]]))).values();
  expect(grant?.granted).toBe(0);
  expect(grant?.waitMs).toBeGreaterThan(0);
});

it("release gives back only the releasing worker's claims; prune deletes only expired ones", async () => {
  const webhookId = await endpoint();
  const [a, b, c] = [await due(webhookId), await due(webhookId), await due(webhookId)];
  await claimDeliveries(log.database.db, { limit: 1, leaseMs: 60_000, skipWebhooks: [], worker: "first" });
  await claimDeliveries(log.database.db, { limit: 1, leaseMs: 60_000, skipWebhooks: [], worker: "second" });
  await claimDeliveries(log.database.db, { limit: 1, leaseMs: 1, skipWebhooks: [], worker: "third" });
  const all = [a, b, c].map((delivery) => delivery.deliveryId);
  expect(await leases()).toEqual([...all].sort());

  await releaseDeliveries(log.database.db, "first", all);
  expect(await leases()).toHaveLength(2);
  await expect
    .poll(
      async () => (await sql`select 1 from delivery_leases where leased_until < now()`.execute(log.database.db)).rows,
    )
    .toHaveLength(1);
  await pruneLeases(log.database.db, 100);
  const left = await sql<{ leased_by: string }>`select leased_by from delivery_leases`.execute(log.database.db);
  expect(left.rows).toEqual([{ leased_by: "second" }]);
});

it("given a cap per endpoint, then a claim takes no more of an endpoint's rows than its free slots, oldest first, and fills up with others'", async () => {
  const busy = await endpoint();
  const quiet = await endpoint();
  const busyRows = [];
  for (let i = 0; i < 6; i++) busyRows.push(await due(busy));
  const quietRows = [await due(quiet), await due(quiet)];
  const claimed = await claimDeliveries(log.database.db, {
    limit: 10,
    leaseMs: 60_000,
    skipWebhooks: [],
    worker: "w",
    // Three of the busy endpoint's four slots are taken by attempts in flight.
    perEndpoint: { cap: 4, inFlight: new Map([[busy, 3]]) },
  });
  expect(ids(claimed)).toEqual(ids([busyRows[0]!, ...quietRows]));
  // What the claim left is still there for the next one.
  expect(ids(await claim("w"))).toEqual(ids(busyRows.slice(1)));
});

it("given a due-only claim, then it takes due rows through the queue's indexes and leaves to a full claim the rows an endpoint's state calls for", async () => {
  const paused = await endpoint();
  const active = await endpoint();
  // Not due for an hour, on an endpoint that was paused since: a worker must record the pause now.
  const waiting = deliveryEvents(stored, { webhookId: paused, url, scheduledAt: Date.now() + 3_600_000 });
  await apply(waiting.scheduled, stored(endpointStream(paused), 1n, "WebhookEndpointPaused", { webhookId: paused }));
  const dueNow = await due(active);
  const dueOnly = (worker: string) =>
    claimDeliveries(log.database.db, { limit: 10, leaseMs: 60_000, skipWebhooks: [], worker, dueOnly: true });
  expect(ids(await dueOnly("w"))).toEqual([dueNow.deliveryId]);
  expect(await dueOnly("w")).toEqual([]);
  expect(ids(await claim("w"))).toEqual([waiting.deliveryId]);
});
