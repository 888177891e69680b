import { sql } from "kysely";
import { beforeAll, expect, it } from "vitest";
import type { ReadFrom, StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { claimDeliveries } from "../../src/app/delivery-claims.js";
import { deliveryQueueProjection } from "../../src/projections/delivery-queue.js";
import type { AnyProjection } from "../../src/projections/projection.js";
import { applyBatch } from "../../src/projections/projection-batch.js";
import { deliveryEvents, endpointCreated } from "../support/delivery-events.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { storedEvents } from "../support/stored-events.js";

/**
 * A DeliveryScheduled carrying a lease (handed off at ingest) puts its row in the queue claimed by
 * that worker; from there the row behaves like any claimed one, whether the outcome comes in the same
 * batch or a later one, and an expired lease (its worker died) leaves the row to the backstop once the
 * lease has run its length from the row's writing.
 */
const log = useEventLogDatabase();
const projection: AnyProjection = deliveryQueueProjection();
const webhookId = "00000000-0000-4000-8000-0000000000aa";
const url = "http://127.0.0.1:1/x";
let from: ReadFrom = "start";

const stored = storedEvents();
const apply = async (...events: StoredEvent[]) => {
  await applyBatch(log.database.db, projection, from, events);
  from = events.at(-1)!.position;
};
/** What the backstop claims of one delivery (the tests share the queue). */
const claim = async (deliveryId: string) =>
  (await claimDeliveries(log.database.db, { limit: 10, leaseMs: 60_000, skipWebhooks: [], worker: "backstop" })).filter(
    (claimed) => claimed.deliveryId === deliveryId,
  );
const row = async (deliveryId: string) =>
  (
    await sql<{ handoff_by: string | null; handoff_until: Date | null; revision: bigint }>`
    select handoff_by, handoff_until, revision from delivery_queue where delivery_id = ${deliveryId}`.execute(
      log.database.db,
    )
  ).rows[0];

/** `scheduledAt` is the hand-off: a lease lasts `until - scheduledAt`. */
const delivery = (lease: { worker: string; until: number }, scheduledAt = Date.now()) =>
  deliveryEvents(stored, { webhookId, url, scheduledAt, lease });
const live = { worker: "ingesting-process", until: Date.now() + 60_000 };

beforeAll(async () => {
  await projection.setup(log.database.db);
  await apply(endpointCreated(stored, { webhookId, url }));
});

it("a leased DeliveryScheduled's row is claimed by its worker until the lease ends", async () => {
  const handedOff = delivery(live);
  await apply(handedOff.scheduled);
  expect(await row(handedOff.deliveryId)).toMatchObject({ handoff_by: live.worker, revision: 0n });
  expect((await row(handedOff.deliveryId))?.handoff_until?.getTime()).toBeGreaterThanOrEqual(live.until);
  expect(await claim(handedOff.deliveryId)).toEqual([]);

  // The attempt alone keeps the lease (its outcome may be in the next batch); the retry ends it.
  await apply(handedOff.attempted());
  expect(await claim(handedOff.deliveryId)).toEqual([]);
  await apply(handedOff.retry());
  expect(await claim(handedOff.deliveryId)).toMatchObject([
    { deliveryId: handedOff.deliveryId, revision: 2n, attempts: 1 },
  ]);
});

it("with its attempt and retry in the same batch, the row is written unleased at the new revision", async () => {
  const handedOff = delivery(live);
  await apply(handedOff.scheduled, handedOff.attempted(), handedOff.retry());
  expect(await row(handedOff.deliveryId)).toMatchObject({ handoff_until: null, revision: 2n });
  expect(await claim(handedOff.deliveryId)).toMatchObject([{ deliveryId: handedOff.deliveryId, revision: 2n }]);
});

it("a success in the same batch writes no row; in a later batch it deletes the leased row", async () => {
  const sameBatch = delivery(live);
  await apply(sameBatch.scheduled, sameBatch.attempted(), sameBatch.succeeded());
  expect(await row(sameBatch.deliveryId)).toBeUndefined();

  const later = delivery(live);
  await apply(later.scheduled);
  expect(await row(later.deliveryId)).toBeDefined();
  await apply(later.attempted(), later.succeeded());
  expect(await row(later.deliveryId)).toBeUndefined();
});

it("a lease that ended before the projection saw it runs its length again from the row, then leaves the delivery to the backstop", async () => {
  // Handed off 2 s ago with a 300 ms lease, and its worker died: the lagging queue writes the row
  // leased for 300 ms more, since the outcome might still be further down the log.
  const handedOffAt = Date.now() - 2000;
  const crashed = delivery({ worker: "dead-process", until: handedOffAt + 300 }, handedOffAt);
  await apply(crashed.scheduled);
  const leasedUntil = (await row(crashed.deliveryId))?.handoff_until?.getTime() ?? 0;
  expect(leasedUntil).toBeGreaterThan(handedOffAt + 300);
  expect(await claim(crashed.deliveryId)).toEqual([]);
  await expect
    .poll(() => claim(crashed.deliveryId), { timeout: 5000 })
    .toMatchObject([{ deliveryId: crashed.deliveryId, revision: 0n, attempts: 0 }]);
});
