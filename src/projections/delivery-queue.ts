import { type Kysely, sql, type Transaction } from "kysely";
import type { DeliveryQueueTables, HeraldTables } from "../adapters/db/schema.js";
import type { StoredEvent } from "../adapters/eventstore/event-store.js";
import {
  DELIVERY_EVENT_TYPES,
  type DeliveryEvent,
  type DeliveryRedeliveryRequested,
  type DeliveryScheduled,
} from "../domain/delivery.js";
import { isDeliveryEvent } from "../domain/herald-event.js";
import { transactionText } from "../domain/ingest-events.js";
import { WEBHOOK_ENDPOINT_EVENT_TYPES, type WebhookEndpointEvent } from "../domain/webhook-events.js";
import { type BulkColumn, insertRows, perBatch } from "./bulk-write.js";
import type { Projection } from "./projection.js";

/** NOTIFY channel: something in the queue became due, or an endpoint changed state. */
export const DELIVERY_QUEUE_CHANNEL = "herald_delivery_queue";
/**
 * The payload when only rows became due: a worker claims them through the due rows' indexes. Any
 * other payload (an endpoint changed state) makes it look at every row an endpoint's state concerns.
 */
export const QUEUE_ROWS_DUE = "due";

/** Endpoint events that change what the queue holds; the health signals (failing, recovered) do not. */
const QUEUE_ENDPOINT_EVENT_TYPES = WEBHOOK_ENDPOINT_EVENT_TYPES.filter(
  (type): type is Exclude<WebhookEndpointEvent["type"], "WebhookEndpointFailing" | "WebhookEndpointRecovered"> =>
    type !== "WebhookEndpointFailing" && type !== "WebhookEndpointRecovered",
);

/**
 * The delivery queue: a read model of the delivery streams (what is pending, when it is due, at
 * which stream revision) plus what an attempt needs to know about each endpoint (URL, retries, the
 * sealed API key and secret, whether it is active). Only the log writes it, so a rebuild loses
 * nothing: the workers' claims and rate limits live in their own tables (src/app/delivery-claims.ts).
 * A delivery handed off at ingest (its DeliveryScheduled carries a lease) arrives with that lease in
 * `handoff_until`/`handoff_by`, which its first step's end clears. `step_revision` stays behind
 * `revision` while an attempt is applied without its outcome: no worker may claim the row then. A row
 * leaves the queue when its delivery succeeds or fails for good, and comes back when a failed delivery
 * is redelivered.
 */
export function deliveryQueueProjection(): Projection<DeliveryEvent | WebhookEndpointEvent> {
  // A batch's events are folded into row changes and written in bulk after the batch: a delivery's
  // three or more events cost a share of three statements, not three statements each, and the
  // endpoints' events a share of two. Kept per transaction: a retried batch starts from nothing.
  const gathered = perBatch(() => ({ queue: new QueueChanges(), endpoints: new EndpointChanges() }));
  return {
    name: "delivery-queue",
    // 2: endpoint rate limits. 3: claims and rate-limit state moved to the workers' tables; step_revision.
    // 4: the claims' partial indexes.
    version: 4,
    eventTypes: [...QUEUE_ENDPOINT_EVENT_TYPES, ...DELIVERY_EVENT_TYPES],

    async setup(db) {
      await sql`
        create table if not exists delivery_endpoints (
          webhook_id text primary key,
          url text not null,
          retries integer not null,
          rate_limit integer,
          api_key text not null,
          signing_secret text not null,
          status text not null
        )`.execute(db);
      await sql`
        create table if not exists delivery_queue (
          delivery_id text primary key,
          webhook_id text not null,
          payload text not null,
          correlation_id text not null,
          state text not null,
          attempts integer not null,
          revision bigint not null,
          step_revision bigint not null,
          -- An attempt applied without its outcome: no claim takes the row (delivery-claims.ts). A column
          -- of its own, unlike step_revision <> revision, has statistics: the claims' plans need them.
          mid_step boolean generated always as (step_revision <> revision) stored,
          due_at timestamptz not null,
          handoff_until timestamptz,
          handoff_by text
        )`.execute(db);
      await sql`create index if not exists delivery_queue_webhook on delivery_queue (webhook_id)`.execute(db);
      // What a claim reads (delivery-claims.ts): pending rows never handed off and not mid-step, in due
      // order; and handed-off rows, the few in their first attempt (and crashed workers' until claimed),
      // by the end of their hand-off, which also counts them as attempts elsewhere.
      await sql`create index if not exists delivery_queue_due_unleased on delivery_queue (due_at) where state = 'pending' and handoff_until is null and not mid_step`.execute(
        db,
      );
      await sql`create index if not exists delivery_queue_handoff on delivery_queue (handoff_until) where handoff_until is not null`.execute(
        db,
      );
    },

    async teardown(db) {
      await sql`drop table if exists delivery_queue`.execute(db);
      await sql`drop table if exists delivery_endpoints`.execute(db);
    },

    async handle(trx, event) {
      const changes = gathered.of(trx);
      if (isDeliveryEvent(event)) changes.queue.apply(event);
      else changes.endpoints.apply(event);
    },

    async afterBatch(trx) {
      const changes = gathered.take(trx);
      if (!changes) return;
      const stateChanged = await changes.endpoints.write(trx);
      const due = await changes.queue.write(trx);
      if (stateChanged) await notify(trx, "endpoints");
      else if (due) await notify(trx, QUEUE_ROWS_DUE);
    },
  };
}

type StoredDeliveryEvent = StoredEvent<DeliveryEvent>;
type StoredEndpointEvent = StoredEvent<WebhookEndpointEvent>;

type QueueRow = DeliveryQueueTables["delivery_queue"];
type RowUpdate = Pick<QueueRow, "revision"> &
  Partial<Pick<QueueRow, "attempts" | "state" | "due_at">> & {
    /**
     * False while the delivery is mid-step (an attempt whose outcome is not applied yet): step_revision
     * and the hand-off lease stay.
     */
    readonly endsStep: boolean;
  };
type RowChange = { kind: "insert"; row: QueueRow } | ({ kind: "update" } & RowUpdate) | { kind: "delete" };

/** The net effect of a batch's delivery events on the queue's rows. */
class QueueChanges {
  readonly #rows = new Map<string, RowChange>();
  #due = false;

  apply(event: StoredDeliveryEvent): void {
    const id = event.data.deliveryId;
    // Every delivery event moves the row's revision on, and every one but DeliveryAttempted ends a step:
    // its step_revision follows, which ends any claim taken before, and the hand-off lease ends.
    const revision = event.revision;
    switch (event.type) {
      case "DeliveryScheduled": {
        // Handed off at ingest: the scheduling process is attempting it, so it is claimed already.
        // The lease runs its full length from when the row appears, not only from the hand-off: a
        // queue that lags by more than a lease would otherwise write a row already expired, and a
        // claimer would POST again a delivery whose outcome is only further down the log.
        const { lease } = event.data;
        const leased =
          lease === undefined
            ? { handoff_until: null, handoff_by: null }
            : {
                handoff_until: new Date(Math.max(lease.until, Date.now() + (lease.until - event.data.scheduledAt))),
                handoff_by: lease.worker,
              };
        this.#insert(event, { attempts: 0, revision, due_at: new Date(event.data.scheduledAt), ...leased });
        return;
      }
      case "DeliveryRedeliveryRequested":
        this.#insert(event, {
          attempts: event.data.attempts,
          revision,
          due_at: new Date(event.data.dueAt),
          handoff_until: null,
          handoff_by: null,
        });
        return;
      case "DeliveryAttempted":
        // An attempt is always appended together with its outcome (retry, success or failure), but a
        // batch may end between the two: EventStoreDB subscriptions hand events over one by one, and
        // any batch size limit can cut there too. The outcome is what frees the row; ending the step
        // here would let a worker claim the delivery again and POST it a second time.
        this.#update(id, { revision, attempts: event.data.attempt, endsStep: false });
        return;
      case "DeliveryRetryScheduled":
      case "DeliveryResumed":
        this.#due = true;
        this.#update(id, { revision, state: "pending", due_at: new Date(event.data.dueAt), endsStep: true });
        return;
      case "DeliveryPaused":
        this.#update(id, { revision, state: "paused", endsStep: true });
        return;
      case "DeliverySucceeded":
      case "DeliveryFailed":
        // A row inserted in this batch never reaches the table.
        if (this.#rows.get(id)?.kind === "insert") this.#rows.delete(id);
        else this.#rows.set(id, { kind: "delete" });
        return;
    }
  }

  /** The same body as the first attempt's: attempts are signed over it. */
  #insert(
    event: StoredEvent & { readonly data: DeliveryScheduled["data"] | DeliveryRedeliveryRequested["data"] },
    position: Pick<QueueRow, "attempts" | "revision" | "due_at" | "handoff_until" | "handoff_by">,
  ): void {
    // A row handed off at ingest is leased: no worker can claim it, so none is woken for it.
    if (position.handoff_until === null) this.#due = true;
    this.#rows.set(event.data.deliveryId, {
      kind: "insert",
      row: {
        delivery_id: event.data.deliveryId,
        webhook_id: event.data.webhookId,
        payload: transactionText(event.data),
        correlation_id: event.metadata.correlationId,
        state: "pending",
        step_revision: position.revision,
        ...position,
      },
    });
  }

  #update(id: string, update: RowUpdate): void {
    const current = this.#rows.get(id);
    if (current?.kind === "insert") {
      // A row inserted in this batch is leased only by its hand-off, which ends with the step.
      const { endsStep, ...columns } = update;
      this.#rows.set(id, {
        kind: "insert",
        row: {
          ...current.row,
          ...columns,
          ...(endsStep ? { step_revision: update.revision, handoff_until: null } : {}),
        },
      });
    } else if (current?.kind === "update") this.#rows.set(id, { ...current, ...update });
    else if (current === undefined) this.#rows.set(id, { kind: "update", ...update });
  }

  /** Writes the rows; true when a delivery became due. */
  async write(trx: Transaction<HeraldTables>): Promise<boolean> {
    const inserts: QueueRow[] = [];
    const updates: (RowUpdate & { id: string })[] = [];
    const deletes: string[] = [];
    for (const [id, change] of this.#rows) {
      if (change.kind === "insert") inserts.push(change.row);
      else if (change.kind === "update") updates.push({ ...change, id });
      else deletes.push(id);
    }
    if (inserts.length > 0) {
      // An upsert: a redelivered row may still be in the table when its failure came earlier in this batch.
      await trx
        .insertInto("delivery_queue")
        .values(inserts)
        .onConflict((oc) =>
          oc.column("delivery_id").doUpdateSet((eb) => ({
            state: eb.ref("excluded.state"),
            attempts: eb.ref("excluded.attempts"),
            revision: eb.ref("excluded.revision"),
            step_revision: eb.ref("excluded.step_revision"),
            due_at: eb.ref("excluded.due_at"),
            handoff_until: eb.ref("excluded.handoff_until"),
            handoff_by: eb.ref("excluded.handoff_by"),
          })),
        )
        .execute();
    }
    if (updates.length > 0) {
      await sql`
        update delivery_queue q set
          revision = v.revision,
          attempts = coalesce(v.attempts, q.attempts),
          state = coalesce(v.state, q.state),
          due_at = coalesce(v.due_at, q.due_at),
          step_revision = case when v.ends_step then v.revision else q.step_revision end,
          handoff_until = case when v.ends_step then null else q.handoff_until end
        from unnest(
          ${sql.val(updates.map((u) => u.id))}::text[],
          ${sql.val(updates.map((u) => u.revision.toString()))}::bigint[],
          ${sql.val(updates.map((u) => u.attempts ?? null))}::integer[],
          ${sql.val(updates.map((u) => u.state ?? null))}::text[],
          ${sql.val(updates.map((u) => u.due_at?.toISOString() ?? null))}::timestamptz[],
          ${sql.val(updates.map((u) => u.endsStep))}::boolean[]
        ) as v(delivery_id, revision, attempts, state, due_at, ends_step)
        where q.delivery_id = v.delivery_id`.execute(trx);
    }
    if (deletes.length > 0) {
      await trx.deleteFrom("delivery_queue").where("delivery_id", "in", deletes).execute();
    }
    return this.#due;
  }
}

type EndpointRow = DeliveryQueueTables["delivery_endpoints"];

/**
 * A batch's endpoint events, folded over the rows they touch (one read) and written with one upsert.
 * The projection is the only writer of the rows, so the rows read are the rows the batch starts from.
 */
class EndpointChanges {
  readonly #events: StoredEndpointEvent[] = [];
  #stateChanged = false;

  apply(event: StoredEndpointEvent): void {
    this.#events.push(event);
    if (STATE_EVENT_TYPES.has(event.type)) this.#stateChanged = true;
  }

  /** Writes the rows; true when an endpoint's state changed (its queued deliveries became claimable). */
  async write(trx: Transaction<HeraldTables>): Promise<boolean> {
    if (this.#events.length === 0) return false;
    const ids = [...new Set(this.#events.map((event) => event.data.webhookId))];
    const read = await trx
      .selectFrom("delivery_endpoints")
      .select(["webhook_id", "url", "retries", "rate_limit", "api_key", "signing_secret", "status"])
      .where(sql<boolean>`webhook_id = any(${sql.val(ids)}::text[])`)
      .execute();
    const current = new Map<string, EndpointRow>(read.map((row) => [row.webhook_id, row]));
    const rows = new Map(current);
    for (const event of this.#events) {
      const row = evolveQueueEndpoint(rows.get(event.data.webhookId), event);
      if (row) rows.set(row.webhook_id, row);
    }
    // Sorted: an upsert locks rows in the order given, so one order keeps concurrent writers out of a cycle.
    const changed = ids.sort().flatMap((id) => {
      const row = rows.get(id);
      return row && row !== current.get(id) ? [row] : [];
    });
    await insertRows(trx, "delivery_endpoints", ENDPOINT_COLUMNS, changed, { key: "webhook_id", update: true });
    return this.#stateChanged;
  }
}

// A state change makes the endpoint's queued deliveries claimable, so that a worker records their
// pause, resumption or end.
const STATE_EVENT_TYPES = new Set<WebhookEndpointEvent["type"]>([
  "WebhookEndpointPaused",
  "WebhookEndpointDisabled",
  "WebhookEndpointResumed",
  "WebhookEndpointDeleted",
]);

const ENDPOINT_COLUMNS: readonly BulkColumn<EndpointRow>[] = [
  ["webhook_id", "text"],
  ["url", "text"],
  ["retries", "int4"],
  ["rate_limit", "int4"],
  ["api_key", "text"],
  ["signing_secret", "text"],
  ["status", "text"],
];

/**
 * An endpoint's row after one event; the same row when the event changes nothing, and no row for an
 * event about an endpoint without one.
 */
function evolveQueueEndpoint(row: EndpointRow | undefined, event: WebhookEndpointEvent): EndpointRow | undefined {
  if (event.type === "WebhookEndpointCreated") {
    if (row) return row;
    const { webhookId, url, retries, rateLimit, apiKey, signingSecret } = event.data;
    return {
      webhook_id: webhookId,
      url,
      retries,
      rate_limit: rateLimit ?? null,
      api_key: apiKey,
      signing_secret: signingSecret,
      status: "active",
    };
  }
  if (!row) return undefined;
  switch (event.type) {
    case "WebhookEndpointUpdated": {
      const { url, retries, rateLimit } = event.data;
      if (url === undefined && retries === undefined && rateLimit === undefined) return row;
      return {
        ...row,
        ...(url === undefined ? {} : { url }),
        ...(retries === undefined ? {} : { retries }),
        ...(rateLimit === undefined ? {} : { rate_limit: rateLimit }),
      };
    }
    case "WebhookEndpointApiKeyRotated":
      return { ...row, api_key: event.data.apiKey, signing_secret: event.data.signingSecret };
    // herald disabling an endpoint stops its deliveries exactly as its owner pausing it does, and
    // resuming enables it again (webhook-endpoint.ts).
    case "WebhookEndpointPaused":
    case "WebhookEndpointDisabled":
      return row.status === "active" ? { ...row, status: "paused" } : row;
    case "WebhookEndpointResumed":
      return row.status === "paused" ? { ...row, status: "active" } : row;
    case "WebhookEndpointDeleted":
      return row.status === "deleted" ? row : { ...row, status: "deleted" };
    case "WebhookEndpointFailing":
    case "WebhookEndpointRecovered":
      return row;
  }
}

async function notify(trx: Transaction<HeraldTables>, payload: string): Promise<void> {
  // PostgreSQL folds identical notifications of one transaction into one, delivered at commit.
  await sql`select pg_notify(${DELIVERY_QUEUE_CHANNEL}, ${payload})`.execute(trx);
}

/** An endpoint as a worker sends to it; secrets sealed. */
export interface QueueEndpoint {
  readonly url: string;
  readonly retries: number;
  readonly rateLimit: number | null;
  readonly apiKey: string;
  readonly signingSecret: string;
  readonly status: "active" | "paused" | "deleted";
}

/** The endpoint as the worker sends to it, from its row in delivery_endpoints. */
export function queueEndpoint(row: Omit<EndpointRow, "webhook_id">): QueueEndpoint {
  return {
    url: row.url,
    retries: row.retries,
    rateLimit: row.rate_limit,
    apiKey: row.api_key,
    signingSecret: row.signing_secret,
    status: row.status,
  };
}

/** For /metrics: pending deliveries, and how long the most overdue one has been due (seconds). */
export async function deliveryQueueStats(db: Kysely<HeraldTables>): Promise<{ depth: number; oldestDueS: number }> {
  const result = await sql<{ depth: string | number; oldest_due_s: number | null }>`
    select count(*) as depth,
      greatest(0, extract(epoch from (now() - min(due_at) filter (where due_at <= now()))))::float8 as oldest_due_s
    from delivery_queue where state = 'pending'`.execute(db);
  const row = result.rows[0];
  return { depth: Number(row?.depth ?? 0), oldestDueS: Number(row?.oldest_due_s ?? 0) };
}
