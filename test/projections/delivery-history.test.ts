import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { expect, it } from "vitest";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import type { StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { type DeliveryEvent, deliveryStream } from "../../src/domain/delivery.js";
import { evolveDeliveryHistory, withTransaction } from "../../src/domain/delivery-history.js";
import { parsedTransaction, transactionText } from "../../src/domain/ingest-events.js";
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

const transaction = fixtureTransactions()[0]!;
/** As published: not what JSON.stringify of the transaction gives. */
const publishedText = ` ${JSON.stringify(transaction, null, 1)}`;
/** How a DeliveryScheduled carries the body: the text alone (now), the object alone (before the text), or both (before once). */
const BODIES = [{ publishedText }, { transaction }, { transaction, publishedText }];

/**
 * One delivery's stream: scheduled (with the `body`'th of BODIES), a failed attempt, a retry, a
 * success; or scheduled and failed for good.
 */
function deliveryEvents(
  deliveryId: string,
  webhookId: string,
  outcome: "succeeded" | "failed",
  body = 0,
): DeliveryEvent[] {
  const scheduled: DeliveryEvent = {
    type: "DeliveryScheduled",
    data: {
      deliveryId,
      webhookId,
      transactionId: randomUUID(),
      subscriptionIds: [],
      ...BODIES[body % BODIES.length],
      scheduledAt: 1_000,
    },
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
  const streams = ids.map((id, i) => deliveryEvents(id, webhookId, i % 3 === 0 ? "failed" : "succeeded", i % 4));
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

it("keeps the body once in a row, and reads and updates rows an older herald wrote with both", async () => {
  const { ids } = await appendDeliveries(3);
  await rebuiltAlike(log, deliveryHistoryProjection, async () => undefined);
  const stored = async (id: string) =>
    (
      await sql<{
        history: Record<string, unknown>;
      }>`select history from delivery_history where delivery_id = ${id}`.execute(log.database.db)
    ).rows[0]?.history;
  // The text alone (i % 4 = 0), the object alone (1), and from an event with both, the text alone (2).
  expect(await stored(ids[0]!)).toMatchObject({ publishedText });
  expect(await stored(ids[0]!)).not.toHaveProperty("transaction");
  expect(await stored(ids[1]!)).toMatchObject({ transaction });
  expect(await stored(ids[1]!)).not.toHaveProperty("publishedText");
  expect(await stored(ids[2]!)).not.toHaveProperty("transaction");
  for (const id of ids) {
    const history = (await findDeliveryHistory(log.database.db, id))!;
    expect(parsedTransaction(history)).toEqual(transaction);
    if (id === ids[1]) expect(JSON.parse(transactionText(history))).toEqual(transaction);
    else expect(transactionText(history)).toBe(publishedText);
  }

  // A failed delivery's row as an older herald folded it, with both; then a redelivery request and a success.
  const old = ids[0]!;
  const recorded = { ...transaction, status: "as recorded" };
  await sql`update delivery_history set history = history || ${JSON.stringify({ transaction: recorded })}::jsonb where delivery_id = ${old}`.execute(
    log.database.db,
  );
  const stream = deliveryStream(old);
  const at = (await log.store.readStream(stream)).length;
  const more: DeliveryEvent[] = [
    {
      type: "DeliveryRedeliveryRequested",
      data: { deliveryId: old, webhookId: "w", publishedText, attempts: 1, dueAt: 3_000 },
    },
    { type: "DeliverySucceeded", data: { deliveryId: old, attempt: 2, at: 3_010 } },
  ];
  await log.store.append(
    stream,
    more.map((event) => ({ ...event, metadata: eventMetadata("test") })),
    BigInt(at - 1),
  );
  const events = (await log.store.readStream(stream)).slice(at) as StoredEvent<DeliveryEvent>[];
  await log.database.db.transaction().execute(async (trx) => {
    for (const event of events) await deliveryHistoryProjection.handle(trx, event);
    await deliveryHistoryProjection.afterBatch?.(trx);
  });
  const updated = (await findDeliveryHistory(log.database.db, old))!;
  expect(updated).toMatchObject({ status: "succeeded", transaction: recorded, publishedText });
  expect(parsedTransaction(updated)).toEqual(recorded);
  expect(withTransaction(updated).transaction).toEqual(recorded);
});
