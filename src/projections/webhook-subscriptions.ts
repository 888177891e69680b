import { type Kysely, sql } from "kysely";
import type { HeraldTables, WebhookSubscriptionsTables } from "../adapters/db/schema.js";
import {
  WEBHOOK_SUBSCRIPTION_EVENT_TYPES,
  type WebhookEndpointDeleted,
  type WebhookSubscriptionEvent,
} from "../domain/webhook-events.js";
import type { WebhookSubscription } from "../domain/webhook-subscription.js";
import { type BulkColumn, perBatch } from "./bulk-write.js";
import { type Page, type PageRequest, readPage } from "./keyset-page.js";
import type { Projection } from "./projection.js";
import { SubscriptionRowChanges } from "./subscription-rows.js";

export type WebhookSubscriptionRecord = Omit<WebhookSubscription, "deleted">;

/**
 * The webhook subscriptions read model: one row per live subscription. Deleting an endpoint
 * removes its subscriptions here too, since they can no longer be read through it.
 */
export const webhookSubscriptionsProjection: Projection<WebhookSubscriptionEvent | WebhookEndpointDeleted> = {
  name: "webhook-subscriptions",
  version: 1,
  eventTypes: [...WEBHOOK_SUBSCRIPTION_EVENT_TYPES, "WebhookEndpointDeleted"],
  async setup(db) {
    await sql`
      create table if not exists webhook_subscriptions (
        subscription_id text primary key,
        webhook_id text not null,
        subscriber text not null,
        type text not null,
        actions jsonb not null,
        collection_id text not null,
        created_at bigint not null
      )`.execute(db);
  },
  async indexes(db) {
    await sql`create index if not exists webhook_subscriptions_webhook_page on webhook_subscriptions (webhook_id, created_at, subscription_id)`.execute(
      db,
    );
  },
  async teardown(db) {
    await sql`drop table if exists webhook_subscriptions`.execute(db);
  },
  // A batch's events are folded into its net changes, written with two deletes and one insert.
  async handle(trx, event) {
    gathered.of(trx).apply(event);
  },
  async afterBatch(trx) {
    await gathered.take(trx)?.write(trx);
  },
};

/** A row as written: `actions` as JSON text. */
type SubscriptionInsert = Omit<WebhookSubscriptionsTables["webhook_subscriptions"], "actions"> & { actions: string };

const SUBSCRIPTION_COLUMNS: readonly BulkColumn<SubscriptionInsert>[] = [
  ["subscription_id", "text"],
  ["webhook_id", "text"],
  ["subscriber", "text"],
  ["type", "text"],
  ["actions", "jsonb"],
  ["collection_id", "text"],
  ["created_at", "int8"],
];

const gathered = perBatch(
  () =>
    new SubscriptionRowChanges<SubscriptionInsert>({
      name: "webhook_subscriptions",
      columns: SUBSCRIPTION_COLUMNS,
      toRow: ({ subscriptionId, webhookId, subscriber, type, actions, collectionId, createdAt }) => ({
        subscription_id: subscriptionId,
        webhook_id: webhookId,
        subscriber,
        type,
        actions: JSON.stringify(actions),
        collection_id: collectionId,
        created_at: BigInt(createdAt),
      }),
    }),
);

export async function findWebhookSubscription(
  db: Kysely<HeraldTables>,
  subscriptionId: string,
): Promise<WebhookSubscriptionRecord | undefined> {
  const row = await db
    .selectFrom("webhook_subscriptions")
    .selectAll()
    .where("subscription_id", "=", subscriptionId)
    .executeTakeFirst();
  return row && toRecord(row);
}

/** A page of one endpoint's subscriptions. */
export async function listWebhookSubscriptions(
  db: Kysely<HeraldTables>,
  webhookId: string,
  request: PageRequest,
): Promise<Page<WebhookSubscriptionRecord>> {
  const page = await readPage<WebhookSubscriptionsTables["webhook_subscriptions"]>(
    db,
    "webhook_subscriptions",
    "subscription_id",
    { webhook_id: webhookId },
    request,
  );
  return { ...page, rows: page.rows.map(toRecord) };
}

function toRecord(row: WebhookSubscriptionsTables["webhook_subscriptions"]): WebhookSubscriptionRecord {
  return {
    subscriptionId: row.subscription_id,
    webhookId: row.webhook_id,
    subscriber: row.subscriber,
    type: row.type,
    actions: row.actions,
    collectionId: row.collection_id,
    createdAt: Number(row.created_at),
  };
}
