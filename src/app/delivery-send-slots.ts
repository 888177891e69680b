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
 * start), for every herald process at once: each endpoint's row in delivery_send_rates (the workers'
 * table, created by the migrations, which a rebuild of the queue keeps) stays locked only while its
 * schedule is read and moved on, and the clock is the database's, so processes whose clocks drift
 * still share one schedule. An endpoint without a limit (any more) is granted everything or left out
 * of the answer (no row: never limited). The table holds one row per endpoint ever limited.
 */
export async function takeEndpointSendSlots(
  db: Kysely<HeraldTables>,
  wanted: ReadonlyMap<string, number>,
): Promise<Map<string, SendSlotGrant>> {
  if (wanted.size === 0) return new Map();
  const ids = [...wanted.keys()].sort();
  return db.transaction().execute(async (trx) => {
    // Every limited endpoint gets its row before the rows are locked, so that two workers taking its
    // first slots at once wait for each other. 0 is a time long past: no slot taken yet. Inserted and
    // locked in one order, so two workers taking slots for the same endpoints cannot deadlock.
    await sql`
      insert into delivery_send_rates (webhook_id, rate_tat_ms)
      select webhook_id, 0 from delivery_endpoints
      where webhook_id = any(${sql.val(ids)}::text[]) and rate_limit is not null
      order by webhook_id
      on conflict do nothing`.execute(trx);
    const rows = await sql<{
      webhook_id: string;
      rate_limit: number | null;
      rate_tat_ms: number;
      now_ms: number;
    }>`
      select r.webhook_id, e.rate_limit, r.rate_tat_ms, (extract(epoch from clock_timestamp()) * 1000)::float8 as now_ms
      from delivery_send_rates r join delivery_endpoints e on e.webhook_id = r.webhook_id
      where r.webhook_id = any(${sql.val(ids)}::text[])
      order by r.webhook_id
      for update of r`.execute(trx);
    const grants = new Map<string, SendSlotGrant>();
    const moved: { webhookId: string; theoreticalArrivalMs: number }[] = [];
    for (const row of rows.rows) {
      const count = wanted.get(row.webhook_id) ?? 0;
      if (row.rate_limit === null) {
        grants.set(row.webhook_id, { granted: count, waitMs: 0 });
        continue;
      }
      const now = Number(row.now_ms);
      const slots = takeSendSlots(row.rate_limit, Number(row.rate_tat_ms), count, now);
      grants.set(row.webhook_id, { granted: slots.granted, waitMs: slots.nextSlotAtMs - now });
      if (slots.granted > 0)
        moved.push({ webhookId: row.webhook_id, theoreticalArrivalMs: slots.theoreticalArrivalMs });
    }
    if (moved.length > 0) {
      await sql`
        update delivery_send_rates r set rate_tat_ms = v.tat
        from unnest(${sql.val(moved.map((m) => m.webhookId))}::text[], ${sql.val(moved.map((m) => m.theoreticalArrivalMs))}::float8[]) as v(webhook_id, tat)
        where r.webhook_id = v.webhook_id`.execute(trx);
    }
    return grants;
  });
}
