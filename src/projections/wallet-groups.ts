import { type Kysely, sql } from "kysely";
import type { HeraldTables } from "../adapters/db/schema.js";
import type { TenantEventReceived } from "../domain/ingest-events.js";
import type { Projection } from "./projection.js";

/**
 * Each wallet's group, from the newest tenant event of the wallet that names one, so that a
 * tenant-admin of another group is refused at once (see mayWaitOn) however long ago the wallet was
 * last seen, without any process holding every wallet in memory.
 */
export function walletGroupsProjection(): Projection<TenantEventReceived> {
  // A batch's events are folded into one row per wallet (log order: the newest group wins) and
  // written with one statement after the batch: tenant events come in the thousands per second.
  let groups = new Map<string, string>();
  return {
    name: "wallet-groups",
    version: 1,
    eventTypes: ["TenantEventReceived"],

    async setup(db) {
      await sql`create table if not exists wallet_groups (wallet_id text primary key, group_id text not null)`.execute(
        db,
      );
      groups = new Map();
    },

    async teardown(db) {
      await sql`drop table if exists wallet_groups`.execute(db);
    },

    async handle(_trx, received) {
      const { event } = received.data;
      // An event without a group says nothing about the wallet's group, as before.
      if (event.group_id) groups.set(event.wallet_id, event.group_id);
    },

    async afterBatch(trx) {
      // Taken first: a batch whose write fails is handled again from its first event.
      const batch = groups;
      groups = new Map();
      if (batch.size === 0) return;
      await sql`
        insert into wallet_groups (wallet_id, group_id)
        select * from unnest(${sql.val([...batch.keys()])}::text[], ${sql.val([...batch.values()])}::text[])
        on conflict (wallet_id) do update set group_id = excluded.group_id
        where wallet_groups.group_id <> excluded.group_id`.execute(trx);
    },
  };
}

/** The wallet's group, or undefined when no tenant event has named one yet (one primary-key lookup). */
export async function findWalletGroup(db: Kysely<HeraldTables>, walletId: string): Promise<string | undefined> {
  // PostgreSQL text cannot hold NUL (it refuses the query), so no stored wallet id has one.
  if (walletId.includes("\0")) return undefined;
  try {
    const row = await db
      .selectFrom("wallet_groups")
      .select("group_id")
      .where("wallet_id", "=", walletId)
      .executeTakeFirst();
    return row?.group_id;
  } catch (error) {
    // On a new database the table appears a moment after start-up, when a process first takes the
    // projection (42P01, undefined table); until then it knows no wallet.
    if ((error as { code?: string }).code === "42P01") return undefined;
    throw error;
  }
}
