import { type Kysely, sql } from "kysely";
import type { HeraldTables, RecoveryRequestsTables } from "../adapters/db/schema.js";
import { type DeliveryRecoveryRequested, RECOVERY_EVENT_TYPES } from "../domain/delivery-recovery.js";
import { type BulkColumn, insertRows, perBatch } from "./bulk-write.js";
import type { Projection } from "./projection.js";

/**
 * Which recovery requests concern an endpoint or a delivery. Their streams are named after (caller,
 * key), which says nothing about the endpoint, so audit trails find them here and read them from
 * the event store; without this index that would be a scan of the whole log per trail.
 */
export const recoveryRequestsProjection: Projection<DeliveryRecoveryRequested> = {
  name: "recovery-requests",
  version: 1,
  eventTypes: RECOVERY_EVENT_TYPES,
  async setup(db) {
    await sql`
      create table if not exists recovery_requests (
        recovery_id text primary key,
        webhook_id text not null,
        delivery_id text
      )`.execute(db);
  },
  async indexes(db) {
    await sql`create index if not exists recovery_requests_webhook on recovery_requests (webhook_id)`.execute(db);
    await sql`create index if not exists recovery_requests_delivery on recovery_requests (delivery_id) where delivery_id is not null`.execute(
      db,
    );
  },
  async teardown(db) {
    await sql`drop table if exists recovery_requests`.execute(db);
  },
  // Gathered and written with one insert per batch; the first request of an id wins, as it would
  // one insert at a time.
  async handle(trx, event) {
    const { recoveryId, request } = event.data;
    const rows = gathered.of(trx);
    if (!rows.has(recoveryId)) {
      rows.set(recoveryId, {
        recovery_id: recoveryId,
        webhook_id: request.webhookId,
        delivery_id: request.mutation === "redeliver" ? request.deliveryId : null,
      });
    }
  },
  async afterBatch(trx) {
    const rows = gathered.take(trx);
    if (!rows) return;
    await insertRows(trx, "recovery_requests", RECOVERY_COLUMNS, [...rows.values()], {
      key: "recovery_id",
      update: false,
    });
  },
};

type RecoveryRow = RecoveryRequestsTables["recovery_requests"];

const gathered = perBatch(() => new Map<string, RecoveryRow>());

const RECOVERY_COLUMNS: readonly BulkColumn<RecoveryRow>[] = [
  ["recovery_id", "text"],
  ["webhook_id", "text"],
  ["delivery_id", "text"],
];

/** The ids of the recovery requests about an endpoint (all of them) or a delivery (redeliver only). */
export async function listRecoveryIds(
  db: Kysely<HeraldTables>,
  about: { readonly webhookId: string } | { readonly deliveryId: string },
): Promise<string[]> {
  const query = db.selectFrom("recovery_requests").select("recovery_id");
  const rows = await ("webhookId" in about
    ? query.where("webhook_id", "=", about.webhookId)
    : query.where("delivery_id", "=", about.deliveryId)
  ).execute();
  return rows.map((row) => row.recovery_id);
}
