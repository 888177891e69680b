import { type Kysely, sql } from "kysely";
import type { HeraldTables, WebhookEndpointsTables } from "../adapters/db/schema.js";
import type { StoredEvent } from "../adapters/eventstore/event-store.js";
import type { WebhookEndpoint } from "../domain/webhook-endpoint.js";
import { WEBHOOK_ENDPOINT_EVENT_TYPES, type WebhookEndpointEvent } from "../domain/webhook-events.js";
import { type BulkColumn, deleteRows, insertRows, perBatch } from "./bulk-write.js";
import { type Page, type PageRequest, readPage } from "./keyset-page.js";
import type { Projection } from "./projection.js";

/** An endpoint as the read model knows it (deleted ones are gone). */
export type WebhookEndpointRecord = Omit<WebhookEndpoint, "deleted" | "healthFrom">;

/**
 * The webhook endpoints read model: one row per endpoint that is not deleted. Secrets stay sealed
 * here; only the owner's query and the delivery worker open them.
 */
export const webhookEndpointsProjection: Projection<WebhookEndpointEvent> = {
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
  },
  async indexes(db) {
    await sql`create index if not exists webhook_endpoints_page on webhook_endpoints (created_at, webhook_id)`.execute(
      db,
    );
    await sql`create index if not exists webhook_endpoints_subscriber_page on webhook_endpoints (subscriber, created_at, webhook_id)`.execute(
      db,
    );
  },
  async teardown(db) {
    await sql`drop table if exists webhook_endpoints`.execute(db);
  },
  // A batch's events are folded over the rows they touch (one read), then written with one delete
  // and one upsert, instead of a statement per event.
  async handle(trx, event) {
    gathered.of(trx).push(event);
  },
  async afterBatch(trx) {
    const events = gathered.take(trx);
    if (!events) return;
    const ids = [...new Set(events.map((event) => event.data.webhookId))];
    const current = new Map(
      (
        await trx
          .selectFrom("webhook_endpoints")
          .selectAll()
          .where(sql<boolean>`webhook_id = any(${sql.val(ids)}::text[])`)
          .execute()
      ).map((row) => [row.webhook_id, row]),
    );
    const rows = new Map<string, EndpointRow | undefined>();
    for (const event of events) {
      const id = event.data.webhookId;
      rows.set(id, evolveEndpointRow(rows.has(id) ? rows.get(id) : current.get(id), event));
    }
    await deleteRows(
      trx,
      "webhook_endpoints",
      "webhook_id",
      ids.filter((id) => rows.get(id) === undefined && current.has(id)),
    );
    const upserts = [...rows.values()].filter((row) => row !== undefined);
    await insertRows(trx, "webhook_endpoints", ENDPOINT_COLUMNS, upserts, { key: "webhook_id", update: true });
  },
};

type StoredEndpointEvent = StoredEvent<WebhookEndpointEvent>;
type EndpointRow = WebhookEndpointsTables["webhook_endpoints"];

const gathered = perBatch<StoredEndpointEvent[]>(() => []);

const ENDPOINT_COLUMNS: readonly BulkColumn<EndpointRow>[] = [
  ["webhook_id", "text"],
  ["subscriber", "text"],
  ["url", "text"],
  ["retries", "int4"],
  ["rate_limit", "int4"],
  ["api_key", "text"],
  ["signing_secret", "text"],
  ["paused", "bool"],
  ["created_at", "int8"],
  ["failing_since", "int8"],
  ["disabled_reason", "text"],
];

/** An endpoint's row after one event (undefined: no row); an event about an endpoint without a row changes nothing. */
function evolveEndpointRow(row: EndpointRow | undefined, event: WebhookEndpointEvent): EndpointRow | undefined {
  if (event.type === "WebhookEndpointCreated") {
    const { webhookId, subscriber, url, retries, rateLimit, apiKey, signingSecret, createdAt } = event.data;
    return {
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
    };
  }
  if (!row) return undefined;
  switch (event.type) {
    case "WebhookEndpointUpdated": {
      const { url, retries, rateLimit } = event.data;
      return {
        ...row,
        ...(url === undefined ? {} : { url }),
        ...(retries === undefined ? {} : { retries }),
        ...(rateLimit === undefined ? {} : { rate_limit: rateLimit }),
      };
    }
    case "WebhookEndpointApiKeyRotated":
      return { ...row, api_key: event.data.apiKey, signing_secret: event.data.signingSecret };
    case "WebhookEndpointPaused":
      return { ...row, paused: true };
    case "WebhookEndpointResumed":
      return { ...row, paused: false, failing_since: null, disabled_reason: null };
    case "WebhookEndpointFailing":
      return { ...row, failing_since: BigInt(event.data.since) };
    case "WebhookEndpointRecovered":
      return { ...row, failing_since: null };
    case "WebhookEndpointDisabled":
      return { ...row, disabled_reason: event.data.reason };
    case "WebhookEndpointDeleted":
      return undefined;
  }
}

export async function findWebhookEndpoint(
  db: Kysely<HeraldTables>,
  webhookId: string,
): Promise<WebhookEndpointRecord | undefined> {
  const row = await db
    .selectFrom("webhook_endpoints")
    .selectAll()
    .where("webhook_id", "=", webhookId)
    .executeTakeFirst();
  return row && toRecord(row);
}

/** A page of endpoints, of one subscriber or (undefined) of everyone. */
export async function listWebhookEndpoints(
  db: Kysely<HeraldTables>,
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
