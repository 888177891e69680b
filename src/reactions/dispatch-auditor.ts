import { type Kysely, sql, type Transaction } from "kysely";
import type { Logger } from "pino";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { AppendRequest, EventStore, StoredEvent } from "../adapters/eventstore/event-store.js";
import { decide, deliveryId, deliveryStream, initialDeliveryState } from "../domain/delivery.js";
import type { TransactionReceived } from "../domain/ingest-events.js";
import { SubscriptionIndex } from "../domain/subscription-matching.js";
import type { WebhookEndpointDeleted, WebhookSubscriptionCreated, WebhookSubscriptionDeleted } from "../domain/webhook-events.js";
import type { Projection } from "../projections/projection.js";

/**
 * The dispatcher: keeps the live subscriptions (a table, and the in-memory index built from it) and
 * turns each TransactionReceived into one DeliveryScheduled per matching endpoint.
 *
 * Appending is a side effect outside the runner's transaction, so it is made idempotent: each
 * delivery's stream is created with expected revision no_stream, and a stream that exists means
 * "already scheduled". The appends of a batch go out together before its checkpoint commits, so a
 * crash in between replays the batch and the replayed appends are dropped.
 */
export interface DispatcherTables {
  dispatcher_subscriptions: {
    subscription_id: string;
    webhook_id: string;
    type: string;
    actions: string[];
    collection_id: string;
  };
}

export interface DispatcherOptions {
  readonly store: EventStore;
  readonly logger: Logger;
}

export function dispatcherProjection(options: DispatcherOptions): Projection<DispatcherTables> {
  let index = new SubscriptionIndex();
  // Keyed by stream: a batch retried after a failure gathers the same requests again, not twice.
  const pending = new Map<string, AppendRequest>();
  // The transaction of the batch being applied, until its appends went out. The index changes as
  // events are handled, but a failed batch (an append that failed, which on EventStoreDB can happen
  // part way) rolls back only the table: the retry must not match an earlier transaction against a
  // subscription created later in that batch, so it reloads the index from the table first.
  let unfinished: Transaction<DispatcherTables> | undefined;

  return {
    name: "dispatcher",
    version: 1,
    eventTypes: ["WebhookSubscriptionCreated", "WebhookSubscriptionDeleted", "WebhookEndpointDeleted", "TransactionReceived"],

    // Called whenever this process starts leading the projection (and after a rebuild's teardown):
    // the index must match the tables at the checkpoint, whatever another process did meanwhile.
    async setup(db) {
      await sql`
        create table if not exists dispatcher_subscriptions (
          subscription_id text primary key,
          webhook_id text not null,
          type text not null,
          actions text[] not null,
          collection_id text not null
        )`.execute(db);
      await sql`create index if not exists dispatcher_subscriptions_webhook on dispatcher_subscriptions (webhook_id)`.execute(db);
      index = await loadIndex(db);
      pending.clear();
      unfinished = undefined;
    },

    async teardown(db) {
      await sql`drop table if exists dispatcher_subscriptions`.execute(db);
      index = new SubscriptionIndex();
    },

    async handle(trx, event) {
      if (unfinished !== trx) {
        if (unfinished) {
          index = await loadIndex(trx);
          pending.clear();
        }
        unfinished = trx;
      }
      switch (event.type) {
        case "WebhookSubscriptionCreated": {
          const data = (event as StoredEvent<string, WebhookSubscriptionCreated["data"]>).data;
          const subscription = { subscriptionId: data.subscriptionId, webhookId: data.webhookId, type: data.type, actions: [...data.actions], collectionId: data.collectionId };
          await trx
            .insertInto("dispatcher_subscriptions")
            .values({ subscription_id: data.subscriptionId, webhook_id: data.webhookId, type: data.type, actions: [...data.actions], collection_id: data.collectionId })
            .onConflict((oc) => oc.column("subscription_id").doNothing())
            .execute();
          index.add(subscription);
          return;
        }
        case "WebhookSubscriptionDeleted": {
          const { subscriptionId } = (event as StoredEvent<string, WebhookSubscriptionDeleted["data"]>).data;
          await trx.deleteFrom("dispatcher_subscriptions").where("subscription_id", "=", subscriptionId).execute();
          index.remove(subscriptionId);
          return;
        }
        case "WebhookEndpointDeleted": {
          const { webhookId } = (event as StoredEvent<string, WebhookEndpointDeleted["data"]>).data;
          await trx.deleteFrom("dispatcher_subscriptions").where("webhook_id", "=", webhookId).execute();
          for (const subscription of index.subscriptionsOf(webhookId)) index.remove(subscription.subscriptionId);
          return;
        }
        case "TransactionReceived":
          schedule(event as StoredEvent<string, TransactionReceived["data"]>);
          return;
      }
    },

    async afterBatch() {
      if (pending.size === 0) {
        unfinished = undefined;
        return;
      }
      const requests = [...pending.values()];
      const outcomes = await options.store.appendMany(requests);
      pending.clear();
      unfinished = undefined;
      const already = outcomes.filter((outcome) => !outcome.ok).length;
      if (already > 0) options.logger.debug({ already }, "deliveries already scheduled (replay or duplicate)");
    },
  };

  function schedule(event: StoredEvent<string, TransactionReceived["data"]>): void {
    const { transactionId, transaction, publishedText } = event.data;
    const now = Date.now();
    for (const [webhookId, subscriptionIds] of index.match(transaction)) {
      const id = deliveryId(webhookId, transactionId);
      const decision = decide(
        { type: "Schedule", data: { deliveryId: id, webhookId, transactionId, subscriptionIds, transaction, ...(publishedText === undefined ? {} : { publishedText }), scheduledAt: now } },
        initialDeliveryState,
      );
      if (!decision.ok) continue;
      const stream = deliveryStream(id);
      pending.set(stream, {
        stream,
        expectedRevision: "no_stream",
        events: decision.events.map((scheduled) => ({
          type: scheduled.type,
          data: scheduled.data,
          metadata: eventMetadata("system:dispatcher", { correlationId: event.metadata.correlationId, causationId: event.id }),
        })),
      });
    }
  }
}

async function loadIndex(db: Kysely<DispatcherTables>): Promise<SubscriptionIndex> {
  const index = new SubscriptionIndex();
  const rows = await db.selectFrom("dispatcher_subscriptions").selectAll().execute();
  for (const row of rows) {
    index.add({ subscriptionId: row.subscription_id, webhookId: row.webhook_id, type: row.type, actions: row.actions, collectionId: row.collection_id });
  }
  return index;
}
