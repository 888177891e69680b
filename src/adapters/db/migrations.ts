import { type Kysely, type Migration, Migrator, sql } from "kysely";

/**
 * Core tables only. Read models belong to their projections (see src/projections), which create
 * and drop their own tables so that a rebuild can start them from nothing.
 */
const migrations: Record<string, Migration> = {
  "0001-event-log": {
    async up(db) {
      await sql`
        create table herald_events (
          position bigserial primary key,
          transaction_id xid8 not null default pg_current_xact_id(),
          event_id uuid not null unique,
          stream text not null,
          revision bigint not null,
          type text not null,
          data jsonb not null,
          metadata jsonb not null,
          recorded_at timestamptz not null default now(),
          unique (stream, revision)
        )`.execute(db);
      // Readers walk the log in (transaction_id, position) order: see postgres-event-store.ts.
      await sql`create index herald_events_read_order on herald_events (transaction_id, position)`.execute(db);
      await sql`create table herald_streams (stream text primary key, revision bigint not null)`.execute(db);
      // One NOTIFY per appending statement, delivered at commit: readers wake without polling fast.
      await sql`
        create function herald_events_notify() returns trigger language plpgsql as $$
        begin perform pg_notify('herald_events', ''); return null; end $$`.execute(db);
      await sql`
        create trigger herald_events_notify after insert on herald_events
        for each statement execute function herald_events_notify()`.execute(db);
    },
  },
  "0002-checkpoints": {
    async up(db) {
      await sql`
        create table herald_checkpoints (
          projection text primary key,
          position text not null,
          version integer not null,
          updated_at timestamptz not null default now()
        )`.execute(db);
    },
  },
  "0003-notify-after-commit": {
    async up(db) {
      // A NOTIFY inside the append's transaction made commits queue for PostgreSQL's notify lock
      // one fsync at a time; the event store now notifies after commit (postgres-event-store.ts).
      await sql`drop trigger if exists herald_events_notify on herald_events`.execute(db);
      await sql`drop function if exists herald_events_notify()`.execute(db);
    },
  },
};

export async function migrate(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: "herald_migrations",
    migrationLockTableName: "herald_migrations_lock",
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
}
