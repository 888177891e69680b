import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { expect, it } from "vitest";
import { type DeliveryEvent, deliveryStream } from "../../src/domain/delivery.js";
import { evolveDeliveryHistory } from "../../src/domain/delivery-history.js";
import {
  countDeliveriesByStatus,
  deliveryHistoryProjection,
  findDeliveryHistory,
} from "../../src/projections/delivery-history.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { appendInterleaved } from "../support/interleaved-appends.js";
import { rebuiltAlike } from "../support/rebuilt-alike.js";

const log = useEventLogDatabase();

/** One delivery's stream: scheduled, a failed attempt, a retry, a success; or scheduled and failed for good. */
function deliveryEvents(deliveryId: string, webhookId: string, outcome: "succeeded" | "failed"): DeliveryEvent[] {
  const transaction = fixtureTransactions()[0]!;
  const scheduled: DeliveryEvent = {
    type: "DeliveryScheduled",
    data: { deliveryId, webhookId, transactionId: randomUUID(), subscriptionIds: [], transaction, scheduledAt: 1_000 },
  };
  const attempt = (n: number, status: number): DeliveryEvent => ({
    type: "DeliveryAttempted",
    data: { deliveryId, attempt: n, startedAt: 1_000 + n, durationMs: 5, url: "https://example.com/hook", status },
  });
  if (outcome === "failed") {
    return [
      scheduled,
      attempt(1, 400),
      { type: "DeliveryFailed", data: { deliveryId, reason: "not_retryable", attempts: 1, at: 1_010 } },
    ];
  }
  return [
    scheduled,
    attempt(1, 503),
    { type: "DeliveryRetryScheduled", data: { deliveryId, attempt: 2, dueAt: 2_000 } },
    attempt(2, 200),
    { type: "DeliverySucceeded", data: { deliveryId, attempt: 2, at: 2_010 } },
  ];
}

/** `count` deliveries to one endpoint, every third failed, appended interleaved (one append per event, as workers record them). */
async function appendDeliveries(count: number): Promise<{ ids: string[]; streams: DeliveryEvent[][] }> {
  const webhookId = randomUUID();
  const ids = Array.from({ length: count }, () => randomUUID());
  const streams = ids.map((id, i) => deliveryEvents(id, webhookId, i % 3 === 0 ? "failed" : "succeeded"));
  await appendInterleaved(
    log.store,
    streams.map((events, i) => ({ stream: deliveryStream(ids[i]!), events })),
  );
  return { ids, streams };
}

it("gives every delivery the same history whether its events come one per batch or many deliveries' to a batch", async () => {
  const { ids, streams } = await appendDeliveries(12);
  const histories = async () => Promise.all(ids.map((id) => findDeliveryHistory(log.database.db, id)));

  const oneByOne = await rebuiltAlike(log, deliveryHistoryProjection, histories);

  // …and the same as the domain's fold of each stream.
  expect(oneByOne).toEqual(streams.map((events) => events.reduce(evolveDeliveryHistory, undefined)));
  expect(oneByOne.map((history) => history?.status)).toEqual(ids.map((_, i) => (i % 3 === 0 ? "failed" : "succeeded")));
  expect(oneByOne[1]?.attempts.map((attempt) => [attempt.number, attempt.status, attempt.nextAttemptAt])).toEqual([
    [1, 503, 2_000],
    [2, 200, undefined],
  ]);
});

it("keeps the count of deliveries by status as the rows change, and starts it from rows an older herald left", async () => {
  const { ids } = await appendDeliveries(9);
  const byStatus = async () => {
    const counted = await countDeliveriesByStatus(log.database.db);
    return Object.fromEntries(counted.filter(({ count }) => count !== 0).map(({ status, count }) => [status, count]));
  };
  const scanned = async () => {
    const rows = await sql<{ status: string; count: string }>`
      select status, count(*)::text as count from delivery_history group by status`.execute(log.database.db);
    return Object.fromEntries(rows.rows.map((row) => [row.status, Number(row.count)]));
  };

  // Each page size folds deliveries that change status within a page and across pages.
  const counts = await rebuiltAlike(log, deliveryHistoryProjection, byStatus);
  expect(counts).toEqual(await scanned());
  expect(Object.values(counts).reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(ids.length);

  // A database from before the counts: the table appears with the rows' count, once.
  await sql`drop table delivery_history_counts`.execute(log.database.db);
  await deliveryHistoryProjection.setup(log.database.db);
  expect(await byStatus()).toEqual(counts);
  await deliveryHistoryProjection.setup(log.database.db);
  expect(await byStatus()).toEqual(counts);
  // A start that made the table and crashed before counting: the next one counts.
  await sql`delete from delivery_history_counts`.execute(log.database.db);
  await deliveryHistoryProjection.setup(log.database.db);
  expect(await byStatus()).toEqual(counts);
});
