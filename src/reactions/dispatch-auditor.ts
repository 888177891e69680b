import { type Kysely, sql, type Transaction } from "kysely";
import type { Logger } from "pino";
import type { DispatcherTables, HeraldTables } from "../adapters/db/schema.js";
import { eventMetadata } from "../adapters/eventstore/event-metadata.js";
import type { AppendRequest, EventStore, ReadFrom, StoredEvent } from "../adapters/eventstore/event-store.js";
import {
  type DeliveryEvent,
  type DeliveryScheduled,
  deliveryDecider,
  deliveryId,
  deliveryStream,
} from "../domain/delivery.js";
import { type TransactionReceived, transactionBody } from "../domain/ingest-events.js";
import {
  SUBSCRIPTION_INDEX_EVENT_TYPES,
  SubscriptionIndex,
  type SubscriptionIndexEvent,
} from "../domain/subscription-matching.js";
import type { SubscriptionSetChanged } from "../domain/webhook-events.js";
import { type BulkColumn, perBatch } from "../projections/bulk-write.js";
import { readCheckpoint } from "../projections/checkpoints.js";
import type { Projection } from "../projections/projection.js";
import { SubscriptionRowChanges } from "../projections/subscription-rows.js";

export interface DispatcherOptions {
  readonly store: EventStore;
  readonly logger: Logger;
  /** Told how many DeliveryScheduled a batch wrote: each one is a delivery ingest did not schedule. */
  readonly onRepairs?: (count: number) => void;
}

const NAME = "dispatcher";
const VERSION = 2;

/**
 * The dispatch auditor: keeps the live subscriptions (a table, and the in-memory index built from
 * it) and makes sure each TransactionReceived has one DeliveryScheduled per matching endpoint, in
 * log order. Ingest schedules them itself in the append of the transaction (ingest-scheduler.ts),
 * so the auditor crosses off every delivery whose DeliveryScheduled follows in the same batch, checks
 * which of the rest exist (a page may end between the two) and appends only the missing. On
 * PostgreSQL the two are one commit, so it appends nothing; what it does write is a repair
 * (EventStoreDB, where the two are separate appends, or a transaction appended by something else).
 *
 * Appending is a side effect outside the runner's transaction, so it is made idempotent: each
 * delivery's stream is created with expected revision no_stream, and a stream that exists means
 * "already scheduled". The appends of a batch go out together before its checkpoint commits, so a
 * crash in between replays the batch and the replayed appends are dropped.
 *
 * It also stores the revision of the last SubscriptionSetChanged it applied with its table, so that
 * a process's delivery directory can start from the table instead of the whole log.
 */
export function dispatcherProjection(
  options: DispatcherOptions,
): Projection<SubscriptionIndexEvent | SubscriptionSetChanged | TransactionReceived | DeliveryScheduled> {
  let index = new SubscriptionIndex();
  // Keyed by stream: a batch retried after a failure gathers the same requests again, not twice.
  const pending = new Map<string, AppendRequest<DeliveryEvent>>();
  // The transaction of the batch being applied, until its appends went out. The index changes as
  // events are handled, but a failed batch (an append that failed, which on EventStoreDB can happen
  // part way) rolls back only the table: the retry must not match an earlier transaction against a
  // subscription created later in that batch, so it reloads the index from the table first.
  let unfinished: Transaction<HeraldTables> | undefined;
  // The batch's changes to the tables, kept per transaction: a retried batch starts from nothing.
  const rows = perBatch(() => new DispatcherRowChanges());

  return {
    name: NAME,
    // 2: the subscription set's revision is kept (dispatcher_subscription_set).
    version: VERSION,
    eventTypes: [
      ...SUBSCRIPTION_INDEX_EVENT_TYPES,
      "SubscriptionSetChanged",
      "TransactionReceived",
      "DeliveryScheduled",
    ],

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
      await sql`create index if not exists dispatcher_subscriptions_webhook on dispatcher_subscriptions (webhook_id)`.execute(
        db,
      );
      await sql`
        create table if not exists dispatcher_subscription_set (
          id boolean primary key default true check (id),
          revision text not null
        )`.execute(db);
      index = await loadIndex(db);
      pending.clear();
      unfinished = undefined;
    },

    async teardown(db) {
      await sql`drop table if exists dispatcher_subscriptions`.execute(db);
      await sql`drop table if exists dispatcher_subscription_set`.execute(db);
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
        // The tables are written in bulk after the batch, the index at once: a transaction further
        // on in the batch is matched against the subscriptions as of its place in the log.
        case "WebhookSubscriptionCreated":
        case "WebhookSubscriptionDeleted":
        case "WebhookEndpointDeleted":
          rows.of(trx).apply(event);
          index.apply(event);
          return;
        case "SubscriptionSetChanged":
          rows.of(trx).apply(event);
          return;
        case "TransactionReceived":
          schedule(event);
          return;
        case "DeliveryScheduled":
          // Scheduled already (at ingest, or by a repair before a crash): nothing to append for it.
          pending.delete(event.stream);
          return;
      }
    },

    async afterBatch(trx) {
      await rows.take(trx)?.write(trx);
      if (pending.size === 0) {
        unfinished = undefined;
        return;
      }
      const expected = [...pending.values()];
      // A page can end between a transaction and its deliveries (one ingest commit, cut by the page
      // size): a revision check, no payload, tells which streams exist before anything is sent whole.
      const checks = await options.store.appendMany(
        expected.map(({ stream }) => ({ stream, expectedRevision: "no_stream", events: [] })),
      );
      const requests = expected.filter((_, i) => checks[i]?.ok);
      const outcomes = requests.length === 0 ? [] : await options.store.appendMany(requests);
      pending.clear();
      unfinished = undefined;
      const repaired = requests.filter((_, i) => outcomes[i]?.ok);
      for (const request of repaired) {
        const [scheduled] = request.events;
        if (scheduled?.type !== "DeliveryScheduled") continue;
        const { deliveryId, webhookId, transactionId } = scheduled.data;
        options.logger.warn(
          { deliveryId, webhookId, transactionId },
          "dispatch repair: a delivery ingest had not scheduled",
        );
      }
      if (repaired.length > 0) options.onRepairs?.(repaired.length);
      const already = expected.length - repaired.length;
      if (already > 0)
        options.logger.debug({ already }, "deliveries already scheduled (at ingest, replay or duplicate)");
    },
  };

  function schedule(event: StoredEvent<TransactionReceived>): void {
    const cause = { actor: "system:dispatcher", correlationId: event.metadata.correlationId, causationId: event.id };
    for (const { request } of scheduleRequests(event.data, index.match(event.data.transaction), cause))
      pending.set(request.stream, request);
  }
}

type DispatcherSubscriptionRow = DispatcherTables["dispatcher_subscriptions"];

const SUBSCRIPTION_COLUMNS: readonly BulkColumn<DispatcherSubscriptionRow>[] = [
  ["subscription_id", "text"],
  ["webhook_id", "text"],
  ["type", "text"],
  ["actions", "text[]"],
  ["collection_id", "text"],
];

/** A batch's changes to the dispatcher's tables: its subscriptions, and the last subscription set revision. */
class DispatcherRowChanges {
  readonly #subscriptions = new SubscriptionRowChanges<DispatcherSubscriptionRow>({
    name: "dispatcher_subscriptions",
    columns: SUBSCRIPTION_COLUMNS,
    toRow: ({ subscriptionId, webhookId, type, actions, collectionId }) => ({
      subscription_id: subscriptionId,
      webhook_id: webhookId,
      type,
      actions: [...actions],
      collection_id: collectionId,
    }),
    onConflict: { key: "subscription_id", update: false },
  });
  #revision: bigint | undefined;

  apply(event: StoredEvent<SubscriptionIndexEvent | SubscriptionSetChanged>): void {
    if (event.type === "SubscriptionSetChanged") this.#revision = event.revision;
    else this.#subscriptions.apply(event);
  }

  async write(trx: Transaction<HeraldTables>): Promise<void> {
    await this.#subscriptions.write(trx);
    if (this.#revision === undefined) return;
    const revision = String(this.#revision);
    await trx
      .insertInto("dispatcher_subscription_set")
      .values({ id: true, revision })
      .onConflict((oc) => oc.column("id").doUpdateSet({ revision }))
      .execute();
  }
}

/** One scheduled delivery: its id, endpoint and the append that creates its stream. */
export interface ScheduleRequest {
  readonly deliveryId: string;
  readonly webhookId: string;
  readonly request: AppendRequest<DeliveryEvent>;
}

/**
 * The DeliveryScheduled appends of a transaction's matches, each creating its delivery's stream
 * (no_stream): ingest and the auditor build the same ones, so whichever comes second is refused.
 */
export function scheduleRequests(
  received: TransactionReceived["data"],
  matches: Iterable<readonly [webhookId: string, subscriptionIds: readonly string[]]>,
  cause: { readonly actor: string; readonly correlationId: string; readonly causationId: string },
): ScheduleRequest[] {
  const { transactionId } = received;
  const body = transactionBody(received);
  const now = Date.now();
  const scheduled: ScheduleRequest[] = [];
  for (const [webhookId, subscriptionIds] of matches) {
    const id = deliveryId(webhookId, transactionId);
    const decision = deliveryDecider.decide(
      {
        type: "Schedule",
        data: {
          deliveryId: id,
          webhookId,
          transactionId,
          subscriptionIds: [...subscriptionIds],
          ...body,
          scheduledAt: now,
        },
      },
      deliveryDecider.initialState,
    );
    if (!decision.ok) continue;
    const metadata = eventMetadata(cause.actor, { correlationId: cause.correlationId, causationId: cause.causationId });
    scheduled.push({
      deliveryId: id,
      webhookId,
      request: {
        stream: deliveryStream(id),
        expectedRevision: "no_stream",
        events: decision.events.map((event) => ({ ...event, metadata })),
      },
    });
  }
  return scheduled;
}

/** The subscriptions as of the dispatcher's checkpoint: where a delivery directory starts following the log. */
export interface DispatcherSnapshot {
  readonly index: SubscriptionIndex;
  /** The revision of the last SubscriptionSetChanged in `index`. */
  readonly version: bigint | "no_stream";
  readonly position: ReadFrom;
}

/**
 * Reads the table, its subscription set revision and the checkpoint in one snapshot (the runner
 * writes them in one transaction). Before the dispatcher ever ran at this version (no tables, or a
 * rebuild pending) the snapshot is empty, at the start of the log.
 */
export async function readDispatcherSnapshot(db: Kysely<HeraldTables>): Promise<DispatcherSnapshot> {
  const empty: DispatcherSnapshot = { index: new SubscriptionIndex(), version: "no_stream", position: "start" };
  const exists = await sql<{
    found: boolean;
  }>`select to_regclass('dispatcher_subscription_set') is not null as found`.execute(db);
  if (!exists.rows[0]?.found) return empty;
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .execute(async (trx) => {
      const checkpoint = await readCheckpoint(trx, NAME);
      if (!checkpoint || checkpoint.version !== VERSION) return empty;
      const set = await trx.selectFrom("dispatcher_subscription_set").select("revision").executeTakeFirst();
      return {
        index: await loadIndex(trx),
        version: set ? BigInt(set.revision) : "no_stream",
        position: checkpoint.position,
      };
    });
}

async function loadIndex(db: Kysely<HeraldTables>): Promise<SubscriptionIndex> {
  const index = new SubscriptionIndex();
  const rows = await db.selectFrom("dispatcher_subscriptions").selectAll().execute();
  for (const row of rows) {
    index.add({
      subscriptionId: row.subscription_id,
      webhookId: row.webhook_id,
      type: row.type,
      actions: row.actions,
      collectionId: row.collection_id,
    });
  }
  return index;
}
