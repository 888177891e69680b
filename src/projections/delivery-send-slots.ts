import { type Kysely, sql } from "kysely";
import type { HeraldTables } from "../adapters/db/schema.js";
import { takeSendSlots } from "../domain/rate-limit.js";

export interface SendSlotGrant {
  /** How many of the wanted attempts may start now. */
  readonly granted: number;
  /** How long until the endpoint may start another attempt. */
  readonly waitMs: number;
}

/**
 * Takes send slots (rate-limit.ts) for the endpoints in `wanted` (webhookId → attempts about to
 * start), for every herald process at once: the endpoints' rows stay locked only while their
 * schedules are read and moved on, and the clock is the database's, so processes whose clocks drift
 * still share one schedule. An endpoint without a limit (any more) is granted everything.
 */
export async function takeEndpointSendSlots(
  db: Kysely<HeraldTables>,
  wanted: ReadonlyMap<string, number>,
): Promise<Map<string, SendSlotGrant>> {
  if (wanted.size === 0) return new Map();
  return db.transaction().execute(async (trx) => {
    // Locked in one order, so two workers taking slots for the same endpoints cannot deadlock.
    const rows = await sql<{
      webhook_id: string;
      rate_limit: number | null;
      rate_tat_ms: number | null;
      now_ms: number;
    }>`
      select webhook_id, rate_limit, rate_tat_ms, (extract(epoch from clock_timestamp()) * 1000)::float8 as now_ms
      from delivery_endpoints
      where webhook_id = any(${sql.val([...wanted.keys()])}::text[])
      order by webhook_id
      for update`.execute(trx);
    const grants = new Map<string, SendSlotGrant>();
    const moved: { webhookId: string; theoreticalArrivalMs: number }[] = [];
    for (const row of rows.rows) {
      const count = wanted.get(row.webhook_id) ?? 0;
      if (row.rate_limit === null) {
        grants.set(row.webhook_id, { granted: count, waitMs: 0 });
        continue;
      }
      const now = Number(row.now_ms);
      const slots = takeSendSlots(row.rate_limit, row.rate_tat_ms ?? undefined, count, now);
      grants.set(row.webhook_id, { granted: slots.granted, waitMs: slots.nextSlotAtMs - now });
      if (slots.granted > 0)
        moved.push({ webhookId: row.webhook_id, theoreticalArrivalMs: slots.theoreticalArrivalMs });
    }
    if (moved.length > 0) {
      await sql`
        update delivery_endpoints e set rate_tat_ms = v.tat
        from unnest(${sql.val(moved.map((m) => m.webhookId))}::text[], ${sql.val(moved.map((m) => m.theoreticalArrivalMs))}::float8[]) as v(webhook_id, tat)
        where e.webhook_id = v.webhook_id`.execute(trx);
    }
    return grants;
  });
}
