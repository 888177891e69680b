import { sql } from "kysely";
import { vi } from "vitest";
import type { Herald } from "../../src/app/herald.js";

/**
 * Resolves once the delivery queue has applied the log as far as it stood and holds nothing for
 * `webhookId`: no attempt to the endpoint is pending or under way, and none can start unless
 * something is appended. Wait for this before asserting that no further request arrives.
 */
export async function untilQueueIdle(herald: Herald, webhookId: string, timeout = 20_000): Promise<void> {
  const queue = herald.projections.get("delivery-queue");
  if (!queue) throw new Error("herald runs no delivery-queue projection");
  await vi.waitFor(
    async () => {
      await queue.waitFor(await herald.store.headPosition(), timeout);
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from delivery_queue where webhook_id = ${webhookId}`.execute(herald.database.db);
      if ((rows[0]?.n ?? 0) > 0) throw new Error(`the queue still holds ${rows[0]?.n} deliveries to ${webhookId}`);
    },
    { timeout, interval: 50 },
  );
}
