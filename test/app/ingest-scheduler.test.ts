import { describe, expect, it } from "vitest";
import type { StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { LogPump } from "../../src/adapters/eventstore/log-pump.js";
import { DeliveryDirectory } from "../../src/app/delivery-directory.js";
import type { HandOffCandidate } from "../../src/app/delivery-worker.js";
import { EndpointCache } from "../../src/app/endpoint-cache.js";
import { natsIngestCodec } from "../../src/app/ingest.js";
import { type DeliveryHandOff, ingestScheduler } from "../../src/app/ingest-scheduler.js";
import { createLogger } from "../../src/app/logger.js";
import { type DeliveryScheduled, deliveryId, deliveryStream } from "../../src/domain/delivery.js";
import type { Transaction } from "../../src/domain/ingest-events.js";
import { SUBSCRIPTION_SET_STREAM, subscriptionStream } from "../../src/domain/webhook-events.js";
import { useEventLogDatabase } from "../support/event-log-database.js";
import { fixtureTransactions, SEED_COLLECTION } from "../support/fixtures.js";
import { createEndpoint, createSubscription } from "../support/webhooks.js";

const logger = createLogger("silent");

/**
 * Stands in for the worker (whose hand-off has tests of its own, and runs for real in
 * test/e2e/ingest-scheduling.test.ts) to see exactly what ingest offers and commits.
 */
function recordingHandOff() {
  const offered: HandOffCandidate[][] = [];
  const committed: string[][] = [];
  let cancelled = 0;
  const handOff: DeliveryHandOff = {
    reserve(candidates) {
      offered.push([...candidates]);
      const leases = new Map(candidates.map((candidate) => [candidate.deliveryId, { worker: "w1", until: 1_000 }]));
      return { leases, commit: (written) => void committed.push([...written]), cancel: () => void cancelled++ };
    },
  };
  return { handOff, offered, committed, cancelled: () => cancelled };
}

describe("ingest scheduler (PostgreSQL event log)", () => {
  const log = useEventLogDatabase();

  /**
   * The directory fed the subscriptions' streams and the subscription set, as a process's log reader
   * would feed it (read by stream: the log's tail may not be visible yet on a busy cluster).
   */
  async function directoryOf(subscriptionIds: readonly string[] = []): Promise<DeliveryDirectory> {
    const directory = new DeliveryDirectory();
    for (const id of subscriptionIds) directory.handle(await log.store.readStream(subscriptionStream(id)));
    directory.handle(await log.store.readStream(SUBSCRIPTION_SET_STREAM));
    return directory;
  }

  /** The endpoints as the process keeps them, read from their streams (no change follows here). */
  function endpointsOf(): EndpointCache {
    return EndpointCache.follow({ store: log.store, pump: new LogPump({ store: log.store, logger }), from: "start" })
      .cache;
  }

  it("appends the transaction and one leased DeliveryScheduled per matching endpoint, once however often the message comes", async () => {
    const matching = await createEndpoint(log.store, "http://127.0.0.1:1/a");
    const matchingSubscription = await createSubscription(log.store, matching.webhookId, {
      type: "asset-link",
      actions: ["delete"],
      collectionId: SEED_COLLECTION,
    });
    const other = await createEndpoint(log.store, "http://127.0.0.1:1/b");
    const otherSubscription = await createSubscription(log.store, other.webhookId, {
      type: "asset-link",
      actions: ["create"],
      collectionId: SEED_COLLECTION,
    });
    const recorder = recordingHandOff();
    const append = ingestScheduler({
      store: log.store,
      directory: await directoryOf([matchingSubscription, otherSubscription]),
      endpoints: endpointsOf(),
      handOff: recorder.handOff,
      logger,
    });

    const [seed] = fixtureTransactions() as [Transaction];
    const codec = natsIngestCodec("transactions", 1_000_000);
    const message = {
      body: Buffer.from(JSON.stringify(seed)),
      subject: "tx",
      messageId: "m-1",
      receivedAt: Date.now(),
    };
    const first = await append([codec.decode(message).request]);
    expect(first).toHaveLength(1);
    expect(first[0]?.ok).toBe(true);

    const transactionId = (codec.decode(message).request.events[0]!.data as { transactionId: string }).transactionId;
    const id = deliveryId(matching.webhookId, transactionId);
    const [scheduled] = (await log.store.readStream(deliveryStream(id))) as (StoredEvent & DeliveryScheduled)[];
    const [received] = await log.store.readStream(`transaction-${transactionId}`);
    expect(scheduled?.type).toBe("DeliveryScheduled");
    expect(scheduled?.data).toMatchObject({
      webhookId: matching.webhookId,
      transactionId,
      publishedText: JSON.stringify(seed),
      lease: { worker: "w1", until: 1_000 },
    });
    // The body once, as its text: the whole is smaller than the two copies of it the event used to hold.
    expect(scheduled?.data).not.toHaveProperty("transaction");
    const twoCopies = JSON.stringify(seed).length + JSON.stringify(JSON.stringify(seed)).length;
    expect(JSON.stringify(scheduled?.data).length).toBeLessThan(twoCopies);
    expect(scheduled?.metadata).toMatchObject({
      actor: "system:ingest",
      causationId: received?.id,
      correlationId: received?.metadata.correlationId,
    });
    expect(await log.store.readStream(deliveryStream(deliveryId(other.webhookId, transactionId)))).toEqual([]);
    expect(recorder.offered).toEqual([
      [
        expect.objectContaining({
          deliveryId: id,
          payload: JSON.stringify(seed),
          endpoint: expect.objectContaining({ url: "http://127.0.0.1:1/a" }),
        }),
      ],
    ]);
    expect(recorder.committed).toEqual([[id]]);

    // A redelivery decodes to the same streams: the transaction and its delivery are refused.
    const again = await append([codec.decode(message).request]);
    expect(again[0]?.ok).toBe(false);
    expect(await log.store.readStream(deliveryStream(id))).toHaveLength(1);
    expect(recorder.committed.at(-1)).toEqual([]);
    expect(recorder.cancelled()).toBe(0);
  });

  it("matches again when the subscription set moved past its directory (the fence), once the directory caught up", async () => {
    const endpoint = await createEndpoint(log.store, "http://127.0.0.1:1/late");
    // The directory knows the set as it was before this subscription.
    const directory = await directoryOf();
    const before = directory.version;
    const subscriptionId = await createSubscription(log.store, endpoint.webhookId, {
      type: "asset-link",
      actions: ["delete"],
      collectionId: SEED_COLLECTION,
    });
    const append = ingestScheduler({ store: log.store, directory, endpoints: endpointsOf(), logger });
    const codec = natsIngestCodec("transactions", 1_000_000);
    const [seed] = fixtureTransactions() as [Transaction];
    const request = codec.decode({
      body: Buffer.from(JSON.stringify(seed)),
      subject: "tx",
      messageId: "m-fence",
      receivedAt: Date.now(),
    }).request;

    const appended = append([request]);
    // Its log reader brings the directory up to date while ingest waits.
    directory.handle([
      ...(await log.store.readStream(subscriptionStream(subscriptionId))),
      ...(await log.store.readStream(SUBSCRIPTION_SET_STREAM)),
    ]);
    const [outcome] = await appended;
    expect(outcome?.ok).toBe(true);
    expect(directory.version).not.toEqual(before);
    const transactionId = (request.events[0]!.data as { transactionId: string }).transactionId;
    const events = await log.store.readStream(deliveryStream(deliveryId(endpoint.webhookId, transactionId)));
    expect(events.map((event) => event.type)).toEqual(["DeliveryScheduled"]);
  });

  it("passes batches without a transaction straight through", async () => {
    const append = ingestScheduler({
      store: log.store,
      directory: await directoryOf(),
      endpoints: endpointsOf(),
      logger,
    });
    const codec = natsIngestCodec("transactions", 1_000_000);
    const rejected = codec.decode({
      body: Buffer.from("not json"),
      subject: "tx",
      messageId: "m-2",
      receivedAt: Date.now(),
    });
    const [outcome] = await append([rejected.request]);
    expect(outcome?.ok).toBe(true);
    expect(rejected.rejected).toBe("not_json");
  });
});
