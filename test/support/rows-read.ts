import { type Kysely, sql } from "kysely";

/**
 * How many rows PostgreSQL has looked at in `table` so far (sequential reads plus heap fetches of
 * index scans, counted before any filter), as its statistics say. Each backend reports its counts
 * when it flushes them; this forces the flush of the connection it runs on, so the figure covers
 * every read only when `db`'s pool has a single connection.
 */
export async function rowsRead(db: Kysely<any>, table: string): Promise<number> {
  await sql`select pg_stat_force_next_flush()`.execute(db);
  const result = await sql<{ rows: string }>`
    select (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::text as rows
    from pg_stat_user_tables where relname = ${table}`.execute(db);
  const row = result.rows[0];
  if (!row) throw new Error(`no statistics for table ${table}`);
  return Number(row.rows);
}
