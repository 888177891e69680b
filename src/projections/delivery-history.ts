import { type Kysely, sql } from "kysely";
import type { DeliveryHistoryTables, HeraldTables } from "../adapters/db/schema.js";
import { DELIVERY_EVENT_TYPES, type DeliveryEvent } from "../domain/delivery.js";
import { type DeliveryHistory, type DeliveryHistoryStatus, evolveDeliveryHistory } from "../domain/delivery-history.js";
import { perBatch } from "./bulk-write.js";
import { type Page, type PageRequest, readPage } from "./keyset-page.js";
import type { Projection } from "./projection.js";

/** Each batch's events by delivery. */
const gathered = perBatch(() => new Map<string, DeliveryEvent[]>());

/**
 * The delivery history read model: one row per delivery, kept forever (unlike the queue, which
 * forgets finished deliveries), with its whole history as JSON and the columns that lists filter
 * and page on. `created_at` is the time the delivery was scheduled.
 */
export const deliveryHistoryProjection: Projection<DeliveryEvent> = {
  name: "delivery-history",
  version: 1,
  eventTypes: DELIVERY_EVENT_TYPES,
  async setup(db) {
    await sql`
      create table if not exists delivery_history (
        delivery_id text primary key,
        webhook_id text not null,
        status text not null,
        created_at bigint not null,
        history jsonb not null
      )`.execute(db);
    // Deliveries by status, kept with the rows so that /metrics reads a handful of rows, not the
    // whole history. Every history row counts in one of them, so no rows beside a history means a
    // table just made (beside an older herald's history, or by a start that crashed after making
    // it): it starts from the history's count, in one statement.
    await sql`create table if not exists delivery_history_counts (status text primary key, count bigint not null)`.execute(
      db,
    );
    await sql`
      insert into delivery_history_counts
      select status, count(*) from delivery_history
      where not exists (select from delivery_history_counts)
      group by status`.execute(db);
  },
  async indexes(db) {
    await sql`create index if not exists delivery_history_webhook_page on delivery_history (webhook_id, created_at, delivery_id)`.execute(
      db,
    );
    await sql`create index if not exists delivery_history_webhook_status_page on delivery_history (webhook_id, status, created_at, delivery_id)`.execute(
      db,
    );
  },
  async teardown(db) {
    await sql`drop table if exists delivery_history`.execute(db);
    await sql`drop table if exists delivery_history_counts`.execute(db);
  },
  // A delivery's events in a batch (often all of them: scheduled, attempted, succeeded) are folded in
  // memory and written with the others' in one statement, instead of a read and a write per event.
  async handle(trx, event) {
    const batch = gathered.of(trx);
    const events = batch.get(event.data.deliveryId);
    if (events) events.push(event);
    else batch.set(event.data.deliveryId, [event]);
  },
  async afterBatch(trx) {
    const batch = gathered.take(trx);
    if (!batch) return;
    const rows = await trx
      .selectFrom("delivery_history")
      .select(["delivery_id", "history"])
      .where("delivery_id", "in", [...batch.keys()])
      .execute();
    const current = new Map(rows.map((row) => [row.delivery_id, row.history]));
    const values = [];
    const counts = new Map<DeliveryHistoryStatus, number>();
    const count = (status: DeliveryHistoryStatus, by: number) => counts.set(status, (counts.get(status) ?? 0) + by);
    for (const [deliveryId, events] of batch) {
      const before = current.get(deliveryId);
      const history = events.reduce(evolveDeliveryHistory, before);
      if (!history) continue;
      if (before) count(before.status, -1);
      count(history.status, 1);
      const json = sql`${JSON.stringify(history)}::jsonb` as never;
      values.push({
        delivery_id: history.deliveryId,
        webhook_id: history.webhookId,
        status: history.status,
        created_at: BigInt(history.scheduledAt),
        history: json,
      });
    }
    if (values.length === 0) return;
    const changed = [...counts].filter(([, by]) => by !== 0);
    if (changed.length > 0)
      await trx
        .insertInto("delivery_history_counts")
        .values(changed.map(([status, by]) => ({ status, count: BigInt(by) })))
        .onConflict((oc) =>
          oc.column("status").doUpdateSet((eb) => ({
            count: eb(eb.ref("delivery_history_counts.count"), "+", eb.ref("excluded.count")),
          })),
        )
        .execute();
    await trx
      .insertInto("delivery_history")
      .values(values)
      .onConflict((oc) =>
        oc
          .column("delivery_id")
          .doUpdateSet((eb) => ({ status: eb.ref("excluded.status"), history: eb.ref("excluded.history") })),
      )
      .execute();
  },
};

export async function findDeliveryHistory(
  db: Kysely<HeraldTables>,
  deliveryId: string,
): Promise<DeliveryHistory | undefined> {
  const row = await db
    .selectFrom("delivery_history")
    .select("history")
    .where("delivery_id", "=", deliveryId)
    .executeTakeFirst();
  return row?.history;
}

export interface DeliveryFilter {
  readonly webhookId: string;
  readonly status?: DeliveryHistoryStatus | undefined;
  /** Scheduled at or after (ms). */
  readonly since?: number | undefined;
  /** Scheduled before (ms). */
  readonly until?: number | undefined;
}

/** A page of one endpoint's deliveries, oldest first. */
export async function listDeliveryHistories(
  db: Kysely<HeraldTables>,
  filter: DeliveryFilter,
  request: PageRequest,
): Promise<Page<DeliveryHistory>> {
  const page = await readPage<DeliveryHistoryTables["delivery_history"]>(
    db,
    "delivery_history",
    "delivery_id",
    { webhook_id: filter.webhookId, ...(filter.status ? { status: filter.status } : {}) },
    request,
    { since: filter.since, until: filter.until },
  );
  return { ...page, rows: page.rows.map((row) => row.history) };
}

/** For /metrics: a read of one row per status, however long the history. */
export async function countDeliveriesByStatus(
  db: Kysely<HeraldTables>,
): Promise<{ status: DeliveryHistoryStatus; count: number }[]> {
  const rows = await db.selectFrom("delivery_history_counts").select(["status", "count"]).execute();
  return rows.map((row) => ({ status: row.status, count: Number(row.count) }));
}
