import { type Kysely, type Migration, Migrator, sql } from "kysely";
import type { HeraldTables } from "./schema.js";

/**
 * Core tables only: the event log's, and the delivery workers' own state (leases, rate limiter),
 * which no event records and so no rebuild may drop. Read models belong to their projections (see
 * src/projections), which create and drop their own tables so that a rebuild can start them from
 * nothing.
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
  "0004-append-function": {
    async up(db) {
      // Expected revisions as the append function takes them: a revision, or one of these codes.
      await sql`
        create function herald_revision_holds(expected bigint, actual bigint) returns boolean
        language sql immutable as $$
          select case expected when -2 then true when -1 then actual = -1 when -3 then actual <> -1 else actual = expected end
        $$`.execute(db);
      // One round trip per appendMany (postgres-event-store.ts explains the rules it keeps).
      await sql`
        create function herald_append(
          p_streams text[],
          p_expected bigint[],
          p_event_requests int[],
          p_event_ids uuid[],
          p_types text[],
          p_data jsonb[],
          p_metadata jsonb[],
          p_fence_stream text,
          p_fence_expected bigint
        ) returns table (request_index int, appended boolean, stream_revision bigint, commit_xid text, last_position bigint)
        language plpgsql as $$
        declare
          v_requests int := cardinality(p_streams);
          v_counts int[] := array_fill(0, array[v_requests]);
          v_oks boolean[] := array_fill(false, array[v_requests]);
          v_revisions bigint[] := array_fill(null::bigint, array[v_requests]);
          v_request int;
          v_stream text;
          v_expected bigint;
          v_count int;
          v_current bigint;
          v_new bigint;
          v_written int := 0;
          v_xid text;
        begin
          if p_fence_stream is not null then
            -- Before anything that takes a transaction id: fenced appends get their ids (their order
            -- in the log) in the order they took the fence.
            if p_fence_expected is null then
              perform pg_advisory_xact_lock(hashtextextended(p_fence_stream, 0));
            else
              perform pg_advisory_xact_lock_shared(hashtextextended(p_fence_stream, 0));
              select s.revision into v_current from herald_streams s where s.stream = p_fence_stream;
              v_current := coalesce(v_current, -1);
              if not herald_revision_holds(p_fence_expected, v_current) then
                return query select 0, false, v_current, null::text, null::bigint;
                return;
              end if;
            end if;
          end if;

          foreach v_request in array p_event_requests loop
            v_counts[v_request] := v_counts[v_request] + 1;
          end loop;

          -- Stream by stream in one global order, so that concurrent appends cannot deadlock; one
          -- stream's requests in the order given, each checked against the revision the previous left.
          for v_request in select t.i from unnest(p_streams) with ordinality as t(stream, i) order by t.stream, t.i loop
            v_stream := p_streams[v_request];
            v_expected := p_expected[v_request];
            v_count := v_counts[v_request];
            v_new := null;
            if v_count = 0 then
              -- A revision check: on a stream that exists it holds until commit, as a write would.
              if v_expected = -2 then
                select s.revision into v_current from herald_streams s where s.stream = v_stream;
              else
                select s.revision into v_current from herald_streams s where s.stream = v_stream for update;
              end if;
              if herald_revision_holds(v_expected, coalesce(v_current, -1)) then v_new := coalesce(v_current, -1); end if;
            elsif v_expected = -2 then
              insert into herald_streams as s (stream, revision) values (v_stream, v_count - 1)
              on conflict (stream) do update set revision = s.revision + v_count
              returning s.revision into v_new;
            elsif v_expected = -1 then
              insert into herald_streams (stream, revision) values (v_stream, v_count - 1)
              on conflict (stream) do nothing
              returning revision into v_new;
            elsif v_expected = -3 then
              update herald_streams s set revision = s.revision + v_count where s.stream = v_stream
              returning s.revision into v_new;
            else
              update herald_streams s set revision = v_expected + v_count where s.stream = v_stream and s.revision = v_expected
              returning s.revision into v_new;
            end if;
            if v_new is null then
              select s.revision into v_current from herald_streams s where s.stream = v_stream;
              v_revisions[v_request] := coalesce(v_current, -1);
            else
              v_oks[v_request] := true;
              v_revisions[v_request] := v_new;
              v_written := v_written + v_count;
            end if;
          end loop;

          if v_written > 0 then
            return query
            with inserted as (
              insert into herald_events (event_id, stream, revision, type, data, metadata)
              select e.id, p_streams[e.request],
                v_revisions[e.request] - v_counts[e.request] + row_number() over (partition by e.request order by e.i),
                e.type, e.data, e.metadata
              from unnest(p_event_requests, p_event_ids, p_types, p_data, p_metadata) with ordinality as e(request, id, type, data, metadata, i)
              where v_oks[e.request]
              order by e.i
              returning herald_events.stream, herald_events.revision, herald_events.position
            )
            select r.i::int, v_oks[r.i], v_revisions[r.i], pg_current_xact_id()::text, inserted.position
            from unnest(p_streams) with ordinality as r(stream, i)
            left join inserted on v_oks[r.i] and v_counts[r.i] > 0 and inserted.stream = r.stream and inserted.revision = v_revisions[r.i]
            order by r.i;
          else
            return query
            select r.i::int, v_oks[r.i], v_revisions[r.i], null::text, null::bigint
            from generate_subscripts(p_streams, 1) as r(i)
            order by r.i;
          end if;
        end $$`.execute(db);
    },
  },
  "0005-delivery-worker-tables": {
    async up(db) {
      // A worker's claim on a queued delivery (src/app/delivery-claims.ts), taken at the queue row's
      // revision: it covers the delivery until it expires or the row's step moves past that revision.
      await sql`
        create table if not exists delivery_leases (
          delivery_id text primary key,
          leased_by text not null,
          leased_until timestamptz not null,
          revision bigint not null,
          webhook_id text not null
        )`.execute(db);
      await sql`create index if not exists delivery_leases_webhook on delivery_leases (webhook_id)`.execute(db);
      // Each rate-limited endpoint's theoretical arrival time (src/app/delivery-send-slots.ts).
      await sql`
        create table if not exists delivery_send_rates (
          webhook_id text primary key,
          rate_tat_ms double precision not null
        )`.execute(db);
      // Until now both lived in the delivery-queue projection's tables, which its next version drops and
      // rebuilds: carried over, so that an upgrade neither re-sends what is being attempted nor bursts
      // past a rate limit. Plain SQL runs only where the old columns exist (PL/pgSQL plans it lazily).
      await sql`
        do $$ begin
          if exists (select 1 from information_schema.columns where table_schema = current_schema()
              and table_name = 'delivery_endpoints' and column_name = 'rate_tat_ms') then
            insert into delivery_send_rates (webhook_id, rate_tat_ms)
            select webhook_id, rate_tat_ms from delivery_endpoints where rate_tat_ms is not null
            on conflict do nothing;
          end if;
          if exists (select 1 from information_schema.columns where table_schema = current_schema()
              and table_name = 'delivery_queue' and column_name = 'leased_by') then
            insert into delivery_leases (delivery_id, leased_by, leased_until, revision, webhook_id)
            select delivery_id, leased_by, leased_until, revision, webhook_id from delivery_queue
            where leased_until > now() and leased_by is not null
            on conflict do nothing;
          end if;
        end $$`.execute(db);
    },
  },
};

export async function migrate(db: Kysely<HeraldTables>): Promise<void> {
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
