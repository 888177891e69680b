import pino from "pino";
import { describe, expect, it } from "vitest";
import type { Database } from "../../src/adapters/db/database.js";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import type { AppendRequest, EventStore } from "../../src/adapters/eventstore/event-store.js";
import { deliveryId, deliveryStream } from "../../src/domain/delivery.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { applyBatch } from "../../src/projections/projection-batch.js";
import { dispatcherProjection } from "../../src/reactions/dispatch-auditor.js";
import { dispatchEvents } from "../support/dispatch-events.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { fixtureTransactions } from "../support/fixtures.js";
import { storedEvents } from "../support/stored-events.js";

/**
 * The auditor appends only the deliveries it does not see scheduled: ingest's DeliveryScheduled
 * follows its TransactionReceived in the same commit, so on PostgreSQL the auditor writes nothing.
 */
const WEBHOOK = "00000000-0000-4000-8000-0000000000b1";

describe("a transaction with its deliveries scheduled", () => {
  const log = useEventLogDatabase();
  it("appends nothing for a transaction whose deliveries follow it in the batch", async () => {
    const { auditor, appended, repairs } = await startAuditor(log.store, log.database);
    await applyBatch(log.database.db, auditor, "start", [
      ...subscriptionAndTransaction("t-scheduled"),
      event(deliveryStream(deliveryId(WEBHOOK, "t-scheduled")), 0n, "DeliveryScheduled", {
        deliveryId: deliveryId(WEBHOOK, "t-scheduled"),
        webhookId: WEBHOOK,
        transactionId: "t-scheduled",
      }),
    ]);
    expect(appended).toEqual([]);
    expect(repairs).toEqual([]);
  });
});

describe("a transaction whose deliveries the next page holds", () => {
  const log = useEventLogDatabase();
  it("sends no event for them: a revision check finds their streams", async () => {
    const stream = deliveryStream(deliveryId(WEBHOOK, "t-next-page"));
    await log.store.append(
      stream,
      [{ type: "DeliveryScheduled", data: {} as never, metadata: eventMetadata("system:ingest") }],
      "no_stream",
    );
    const { auditor, appended, repairs } = await startAuditor(log.store, log.database);
    await applyBatch(log.database.db, auditor, "start", subscriptionAndTransaction("t-next-page"));
    expect(appended.map((request) => [request.stream, request.events.length])).toEqual([[stream, 0]]);
    expect(repairs).toEqual([]);
    expect(await log.store.readStream(stream)).toHaveLength(1);
  });
});

describe("a transaction without its deliveries", () => {
  const log = useEventLogDatabase();
  it("repairs a transaction whose delivery was never scheduled, and counts it", async () => {
    const { auditor, appended, repairs } = await startAuditor(log.store, log.database);
    await applyBatch(log.database.db, auditor, "start", subscriptionAndTransaction("t-missing"));
    const stream = deliveryStream(deliveryId(WEBHOOK, "t-missing"));
    // The check, then the append of the missing one.
    expect(appended.map((request) => [request.stream, request.events.length])).toEqual([
      [stream, 0],
      [stream, 1],
    ]);
    expect(repairs).toEqual([1]);
    const [scheduled] = await log.store.readStream(stream);
    expect(scheduled?.type).toBe("DeliveryScheduled");
    // Received before herald kept the published text: the parsed form is all there is to send.
    expect(scheduled?.data).toMatchObject({ transaction: seed });
    expect(scheduled?.data).not.toHaveProperty("publishedText");
  });
});

describe("a transaction received with its published text", () => {
  const log = useEventLogDatabase();
  it("schedules the body once, as the published text", async () => {
    const { auditor } = await startAuditor(log.store, log.database);
    const text = ` ${JSON.stringify(seed)}`;
    await applyBatch(log.database.db, auditor, "start", [
      subscription("00000000-0000-4000-8000-000000000001", WEBHOOK),
      transaction("t-text", text),
    ]);
    const [scheduled] = await log.store.readStream(deliveryStream(deliveryId(WEBHOOK, "t-text")));
    expect(scheduled?.type).toBe("DeliveryScheduled");
    expect(scheduled?.data).toMatchObject({ transactionId: "t-text", publishedText: text });
    expect(scheduled?.data).not.toHaveProperty("transaction");
  });
});

const { subscription, transaction } = dispatchEvents();
const [seed] = fixtureTransactions() as [Transaction];
const event = storedEvents();

/** A subscription of WEBHOOK that matches the transaction, then the transaction. */
function subscriptionAndTransaction(transactionId: string) {
  return [subscription("00000000-0000-4000-8000-000000000001", WEBHOOK), transaction(transactionId)];
}

/** The auditor on the real log, with every append it makes recorded on the way. */
async function startAuditor(real: EventStore, database: Database) {
  const appended: AppendRequest[] = [];
  const repairs: number[] = [];
  const store: EventStore = Object.create(real, {
    appendMany: {
      value: (requests: readonly AppendRequest[], options?: Parameters<EventStore["appendMany"]>[1]) => {
        appended.push(...requests);
        return real.appendMany(requests, options);
      },
    },
  });
  const auditor = dispatcherProjection({
    store,
    logger: pino({ level: "silent" }),
    onRepairs: (count) => repairs.push(count),
  });
  await auditor.setup(database.db);
  return { auditor, appended, repairs };
}
