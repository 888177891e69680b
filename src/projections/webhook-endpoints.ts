import { type Kysely, sql } from "kysely";
import type { StoredEvent } from "../adapters/eventstore/event-store.js";
import type { WebhookEndpoint } from "../domain/webhook-endpoint.js";
import { type EndpointDisabledReason, WEBHOOK_ENDPOINT_EVENT_TYPES, type WebhookEndpointEvent } from "../domain/webhook-events.js";
import { type Page, type PageRequest, readPage } from "./keyset-page.js";
import type { Projection } from "./projection.js";

/**
 * The webhook endpoints read model: one row per endpoint that is not deleted. Secrets stay sealed
 * here; only the owner's query and the delivery worker open them.
 */
export interface WebhookEndpointsTables {
  webhook_endpoints: {
    webhook_id: string;
    subscriber: string;
    url: string;
    retries: number;
    rate_limit: number | null;
    api_key: string;
    signing_secret: string;
    paused: boolean;
    created_at: bigint;
    failing_since: bigint | null;
    disabled_reason: EndpointDisabledReason | null;
  };
}

/** An endpoint as the read model knows it (deleted ones are gone). */
export type WebhookEndpointRecord = Omit<WebhookEndpoint, "deleted" | "healthFrom">;

export const webhookEndpointsProjection: Projection<WebhookEndpointsTables> = {
  name: "webhook-endpoints",
  // 2: endpoint health (failing_since, disabled_reason). 3: rate_limit.
  version: 3,
  eventTypes: WEBHOOK_ENDPOINT_EVENT_TYPES,
  async setup(db) {
    await sql`
      create table if not exists webhook_endpoints (
        webhook_id text primary key,
        subscriber text not null,
        url text not null,
        retries integer not null,
        rate_limit integer,
        api_key text not null,
        signing_secret text not null,
        paused boolean not null,
        created_at bigint not null,
        failing_since bigint,
        disabled_reason text
      )`.execute(db);
    await sql`create index if not exists webhook_endpoints_page on webhook_endpoints (created_at, webhook_id)`.execute(db);
    await sql`create index if not exists webhook_endpoints_subscriber_page on webhook_endpoints (subscriber, created_at, webhook_id)`.execute(db);
  },
  async teardown(db) {
    await sql`drop table if exists webhook_endpoints`.execute(db);
  },
  async handle(trx, stored) {
    const event = stored as StoredEvent & WebhookEndpointEvent;
    const row = trx.updateTable("webhook_endpoints").where("webhook_id", "=", event.data.webhookId);
    switch (event.type) {
      case "WebhookEndpointCreated": {
        const { webhookId, subscriber, url, retries, rateLimit, apiKey, signingSecret, createdAt } = event.data;
        await trx
          .insertInto("webhook_endpoints")
          .values({
            webhook_id: webhookId,
            subscriber,
            url,
            retries,
            rate_limit: rateLimit ?? null,
            api_key: apiKey,
            signing_secret: signingSecret,
            paused: false,
            created_at: BigInt(createdAt),
            failing_since: null,
            disabled_reason: null,
          })
          .execute();
        return;
      }
      case "WebhookEndpointUpdated":
        if (event.data.url !== undefined) await row.set({ url: event.data.url }).execute();
        if (event.data.retries !== undefined) await row.set({ retries: event.data.retries }).execute();
        if (event.data.rateLimit !== undefined) await row.set({ rate_limit: event.data.rateLimit }).execute();
        return;
      case "WebhookEndpointApiKeyRotated":
        await row.set({ api_key: event.data.apiKey, signing_secret: event.data.signingSecret }).execute();
        return;
      case "WebhookEndpointPaused":
        await row.set({ paused: true }).execute();
        return;
      case "WebhookEndpointResumed":
        await row.set({ paused: false, failing_since: null, disabled_reason: null }).execute();
        return;
      case "WebhookEndpointFailing":
        await row.set({ failing_since: BigInt(event.data.since) }).execute();
        return;
      case "WebhookEndpointRecovered":
        await row.set({ failing_since: null }).execute();
        return;
      case "WebhookEndpointDisabled":
        await row.set({ disabled_reason: event.data.reason }).execute();
        return;
      case "WebhookEndpointDeleted":
        await trx.deleteFrom("webhook_endpoints").where("webhook_id", "=", event.data.webhookId).execute();
        return;
    }
  },
};

export async function findWebhookEndpoint(db: Kysely<any>, webhookId: string): Promise<WebhookEndpointRecord | undefined> {
  const row = await (db as Kysely<WebhookEndpointsTables>)
    .selectFrom("webhook_endpoints")
    .selectAll()
    .where("webhook_id", "=", webhookId)
    .executeTakeFirst();
  return row && toRecord(row);
}

/** A page of endpoints, of one subscriber or (undefined) of everyone. */
export async function listWebhookEndpoints(
  db: Kysely<any>,
  subscriber: string | undefined,
  request: PageRequest,
): Promise<Page<WebhookEndpointRecord>> {
  const page = await readPage<WebhookEndpointsTables["webhook_endpoints"]>(
    db,
    "webhook_endpoints",
    "webhook_id",
    subscriber === undefined ? {} : { subscriber },
    request,
  );
  return { ...page, rows: page.rows.map(toRecord) };
}

function toRecord(row: WebhookEndpointsTables["webhook_endpoints"]): WebhookEndpointRecord {
  return {
    webhookId: row.webhook_id,
    subscriber: row.subscriber,
    url: row.url,
    retries: row.retries,
    rateLimit: row.rate_limit ?? undefined,
    apiKey: row.api_key,
    signingSecret: row.signing_secret,
    paused: row.paused,
    createdAt: Number(row.created_at),
    failingSince: row.failing_since === null ? undefined : Number(row.failing_since),
    disabledReason: row.disabled_reason ?? undefined,
  };
}
