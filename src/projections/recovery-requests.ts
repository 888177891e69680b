import { type Kysely, sql } from "kysely";
import type { StoredEvent } from "../adapters/eventstore/event-store.js";
import { type DeliveryRecoveryRequested, RECOVERY_EVENT_TYPES } from "../domain/delivery-recovery.js";
import type { Projection } from "./projection.js";

/**
 * Which recovery requests concern an endpoint or a delivery. Their streams are named after (caller,
 * key), which says nothing about the endpoint, so audit trails find them here and read them from
 * the event store; without this index that would be a scan of the whole log per trail.
 */
export interface RecoveryRequestsTables {
  recovery_requests: {
    recovery_id: string;
    webhook_id: string;
    /** Only for redeliver: the one delivery it names. */
    delivery_id: string | null;
  };
}

export const recoveryRequestsProjection: Projection<RecoveryRequestsTables> = {
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
    await sql`create index if not exists recovery_requests_webhook on recovery_requests (webhook_id)`.execute(db);
    await sql`create index if not exists recovery_requests_delivery on recovery_requests (delivery_id) where delivery_id is not null`.execute(db);
  },
  async teardown(db) {
    await sql`drop table if exists recovery_requests`.execute(db);
  },
  async handle(trx, stored) {
    const { recoveryId, request } = (stored as StoredEvent & DeliveryRecoveryRequested).data;
    await trx
      .insertInto("recovery_requests")
      .values({ recovery_id: recoveryId, webhook_id: request.webhookId, delivery_id: request.mutation === "redeliver" ? request.deliveryId : null })
      .onConflict((oc) => oc.column("recovery_id").doNothing())
      .execute();
  },
};

/** The ids of the recovery requests about an endpoint (all of them) or a delivery (redeliver only). */
export async function listRecoveryIds(db: Kysely<any>, about: { readonly webhookId: string } | { readonly deliveryId: string }): Promise<string[]> {
  const query = (db as Kysely<RecoveryRequestsTables>).selectFrom("recovery_requests").select("recovery_id");
  const rows = await ("webhookId" in about ? query.where("webhook_id", "=", about.webhookId) : query.where("delivery_id", "=", about.deliveryId)).execute();
  return rows.map((row) => row.recovery_id);
}
