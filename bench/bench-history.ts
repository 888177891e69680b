/**
 * A long history for a stopped herald, loaded in bulk: the delivery bench's own finished deliveries
 * copied until the log holds `target` events, so that a restarted herald stands where a herald
 * stands after a busy month of deliveries.
 *
 * Why copies, and what makes the restart real:
 * - The copied events are the ones herald itself wrote for the bench's transactions (every event on
 *   a `transaction-…` or `delivery-…` stream: TransactionReceived, DeliveryScheduled, the attempts and
 *   outcomes, whatever the code under test writes), so types, payload sizes and the mix are herald's
 *   own. Copy k renames each stream `<stream>-h<k>` (herald_events and herald_streams alike); the ids
 *   inside the data are left as they were, since no reader of old events looks at them again.
 * - Each copy batch is one INSERT … SELECT over generate_series (one transaction id per batch, as a
 *   group commit would give), positions numbered in log order past the current head.
 * - Read models: every table with a `delivery_id` column (the delivery history, which keeps every
 *   delivery, and whatever else the code under test keys by delivery) gets the copied deliveries'
 *   rows as well, renamed the same way. Finished deliveries leave no queue rows to copy.
 * - Checkpoints: every row of herald_checkpoints moves to the new head, which is where a herald that
 *   applied the history stands (readers move over events they do not handle).
 * - VACUUM ANALYZE of the database, as autovacuum would have done on a log that grew over weeks, then
 *   a CHECKPOINT and an OS sync, so that the load's own write-back is over before anything is timed.
 * herald must be stopped (and caught up) while this runs: no reader may see the log change under it.
 */
import { execFileSync } from "node:child_process";
import { type Kysely, type RawBuilder, sql } from "kysely";
import { openPostgres } from "../src/adapters/db/database.js";
import type { HeraldTables } from "../src/adapters/db/schema.js";
import { positionToJSON } from "../src/adapters/eventstore/position.js";
import { createPostgresEventStore } from "../src/adapters/eventstore/postgres-event-store.js";
import { deliveryStream } from "../src/domain/delivery.js";
import { transactionStream } from "../src/domain/ingest-events.js";
import { progress } from "./bench-support.js";

/** Rows per INSERT … SELECT: one transaction each. */
const ROWS_PER_STATEMENT = 50_000;

export interface LoadedHistory {
  readonly eventsInLog: number;
  readonly eventsCopied: number;
  /** Copying rows, rebuilding indexes, VACUUM ANALYZE. */
  readonly seconds: { readonly copy: number; readonly indexes: number; readonly vacuum: number };
}

export async function loadHistory(databaseUrl: string, target: number): Promise<LoadedHistory> {
  const database = await openPostgres(databaseUrl, { max: 2 });
  let since = performance.now();
  const lap = () => {
    const seconds = Math.round(performance.now() - since) / 1000;
    since = performance.now();
    return seconds;
  };
  try {
    // One connection throughout: the templates are temporary tables of this session.
    return await database.db.connection().execute(async (db) => {
      const onDeliveryFlow = sql.join(
        [transactionStream(""), deliveryStream("")].map((prefix) => sql`stream like ${`${prefix}%`}`),
        sql` or `,
      );
      // rank: the event's place in its copy, so that positions follow log order without a sort.
      await sql`
        create temp table copy_events as
        select row_number() over (order by transaction_id, position) as rank, * from herald_events where ${onDeliveryFlow}`.execute(
        db,
      );
      await sql`create temp table copy_streams as select * from herald_streams where ${onDeliveryFlow}`.execute(db);
      const deliveryTables = await tablesWithColumn(db, "delivery_id");
      for (const table of deliveryTables) {
        await sql`
          create temp table ${sql.table(`copy_${table}`)} as select * from ${sql.table(table)}
          where delivery_id in (select substr(stream, ${deliveryStream("").length + 1}) from copy_streams)`.execute(db);
      }
      // Index builds sort in memory rather than in temporary files.
      await sql`set maintenance_work_mem = '256MB'`.execute(db);
      const counts = await sql<{ total: string; last: string; templates: string }>`
        select (select count(*) from herald_events) as total, (select coalesce(max(position), 0) from herald_events) as last,
          (select count(*) from copy_events) as templates`.execute(db);
      const { total, last, templates } = counts.rows[0]!;
      const perCopy = Number(templates);
      if (perCopy === 0) throw new Error("bench: no delivery events to copy into a history");
      const copies = Math.max(0, Math.ceil((target - Number(total)) / perCopy));
      const copiesPerStatement = Math.max(1, Math.floor(ROWS_PER_STATEMENT / perCopy));
      const copy = async (
        table: string,
        from: string,
        replaced: Record<string, RawBuilder<unknown>>,
        first: number,
        lastCopy: number,
      ) => {
        const columns = await columnsOf(db, table);
        await sql`
          insert into ${sql.table(table)} (${sql.join(columns.map((column) => sql.ref(column)))})
          select ${sql.join(columns.map((column) => replaced[column] ?? sql.ref(`t.${column}`)))}
          from ${sql.table(from)} t, generate_series(${first}::int, ${lastCopy}::int) k`.execute(db);
      };
      const tables = ["herald_events", "herald_streams", ...deliveryTables];
      const indexes = await dropIndexes(db, tables);
      for (let first = 1; first <= copies; first += copiesPerStatement) {
        const lastCopy = Math.min(copies, first + copiesPerStatement - 1);
        await copy(
          "herald_events",
          "copy_events",
          {
            position: sql`${last}::bigint + (k - 1) * ${perCopy}::bigint + t.rank`,
            transaction_id: sql`pg_current_xact_id()`,
            event_id: sql`gen_random_uuid()`,
            stream: sql`t.stream || '-h' || k`,
            recorded_at: sql`now()`,
          },
          first,
          lastCopy,
        );
        await copy("herald_streams", "copy_streams", { stream: sql`t.stream || '-h' || k` }, first, lastCopy);
        for (const table of deliveryTables)
          await copy(table, `copy_${table}`, { delivery_id: sql`t.delivery_id || '-h' || k` }, first, lastCopy);
        progress("history: bulk load", lastCopy, copies);
      }
      await sql`select setval(pg_get_serial_sequence('herald_events', 'position'), ${last}::bigint + ${copies * perCopy}::bigint)`.execute(
        db,
      );
      const copySeconds = lap();
      for (const [i, index] of indexes.entries()) {
        await sql.raw(index).execute(db);
        progress("history: indexes", i + 1, indexes.length);
      }

      const store = await createPostgresEventStore(database);
      const head = await store.headPosition();
      await store.close();
      await sql`update herald_checkpoints set position = ${positionToJSON(head)}`.execute(db);
      const indexSeconds = lap();
      await sql`vacuum analyze`.execute(db);
      const vacuumSeconds = lap();
      // The load dirtied gigabytes of pages in seconds. Left to the checkpointer and the kernel, they
      // are written out during the paced runs, and every commit's WAL flush queues behind that
      // write-back: the runs would measure the load's aftermath, not a long log. A running herald
      // never has that backlog (its writes are spread over its life), so the load is flushed first.
      await sql`checkpoint`.execute(db);
      execFileSync("sync");
      return {
        eventsInLog: Number(total) + copies * perCopy,
        eventsCopied: copies * perCopy,
        seconds: { copy: copySeconds, indexes: indexSeconds, vacuum: vacuumSeconds, flush: lap() },
      };
    });
  } finally {
    await database.close();
  }
}

/**
 * VACUUM ANALYZE of the whole database, as autovacuum leaves a herald that has run a while: without
 * it, a fresh database's first minutes run on default planner estimates, and the fresh log would be
 * measured in a state the long one (analyzed after its load) is not.
 */
export async function vacuumAnalyze(databaseUrl: string): Promise<void> {
  const database = await openPostgres(databaseUrl, { max: 1 });
  try {
    await sql`vacuum analyze`.execute(database.db);
  } finally {
    await database.close();
  }
}

/**
 * Drops the indexes and unique constraints of `tables` and returns the statements that rebuild them:
 * one sorted build after the load costs far less than a million random insertions, and gives the
 * same indexes (denser than ones grown event by event, as a REINDEX would leave them).
 */
async function dropIndexes(db: Kysely<HeraldTables>, tables: readonly string[]): Promise<string[]> {
  const result = await sql<{
    table_name: string;
    index_name: string;
    index_definition: string;
    constraint_name: string | null;
    constraint_definition: string | null;
  }>`
    select c.relname as table_name, i.relname as index_name, pg_get_indexdef(i.oid) as index_definition,
      con.conname as constraint_name, pg_get_constraintdef(con.oid) as constraint_definition
    from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
    left join pg_constraint con on con.conindid = i.oid and con.conrelid = c.oid and con.contype in ('p', 'u')
    where c.relname = any(${tables}) and c.relnamespace = current_schema()::regnamespace`.execute(db);
  const rebuild: string[] = [];
  for (const row of result.rows) {
    const table = sql.table(row.table_name);
    if (row.constraint_name && row.constraint_definition) {
      await sql`alter table ${table} drop constraint ${sql.ref(row.constraint_name)}`.execute(db);
      rebuild.push(
        `alter table "${row.table_name}" add constraint "${row.constraint_name}" ${row.constraint_definition}`,
      );
    } else {
      await sql`drop index ${sql.ref(row.index_name)}`.execute(db);
      rebuild.push(row.index_definition);
    }
  }
  return rebuild;
}

async function columnsOf(db: Kysely<HeraldTables>, table: string): Promise<string[]> {
  const result = await sql<{ column_name: string }>`
    select column_name from information_schema.columns
    where table_schema = current_schema() and table_name = ${table} and is_generated = 'NEVER' order by ordinal_position`.execute(
    db,
  );
  return result.rows.map((row) => row.column_name);
}

async function tablesWithColumn(db: Kysely<HeraldTables>, column: string): Promise<string[]> {
  const result = await sql<{ table_name: string }>`
    select c.table_name from information_schema.columns c join information_schema.tables t using (table_schema, table_name)
    where c.table_schema = current_schema() and c.column_name = ${column} and t.table_type = 'BASE TABLE' order by c.table_name`.execute(
    db,
  );
  return result.rows.map((row) => row.table_name);
}
