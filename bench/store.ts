/**
 * The PostgreSQL event log's appends beside what PostgreSQL does without herald, in the same run and
 * database: herald's append in batches of 1 and of 100 events (8 concurrent writers, through the
 * event store port), against a plain one-row INSERT per transaction and a multi-row INSERT of 100
 * rows into a table of herald_events' shape (same columns, defaults, indexes), same concurrency,
 * same driver. Then catch-up read throughput through the port.
 */
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { type Database, openPostgres } from "../src/adapters/db/database.js";
import { migrate } from "../src/adapters/db/migrations.js";
import type { AnyEvent, EventStore, NewEvent, ReadFrom, StoredEvent } from "../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../src/adapters/eventstore/postgres-event-store.js";
import { createTestDatabase } from "../test/support/test-database.js";
import { machine, progress, round } from "./bench-support.js";

const WRITERS = 8;
const SINGLES = 5_000;
const BATCHED = 100_000;
const metadata = { correlationId: "bench", causationId: "bench", actor: "bench", at: new Date(0).toISOString() };
const event = (index: number): NewEvent<AnyEvent> => ({
  type: "BenchHappened",
  data: { index, payload: "x".repeat(200) },
  metadata,
});

/** Events or rows per second with WRITERS concurrent writers, each calling `write(writer, batch)` for batchSize rows until `total`. */
async function rate(
  label: string,
  batchSize: number,
  total: number,
  write: (writer: number, batch: number) => Promise<unknown>,
): Promise<number> {
  let written = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let batch = 0; written < total; batch++) {
        written += batchSize;
        await write(writer, batch);
        progress(label, Math.min(written, total), total);
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

const herald = (store: EventStore<AnyEvent>, batchSize: number, total: number) =>
  rate(`append, batches of ${batchSize}`, batchSize, total, (writer, batch) =>
    store.append(
      `bench-${batchSize}-${writer}-${batch % 50}`,
      Array.from({ length: batchSize }, (_, index) => event(index)),
      "any",
    ),
  );

/** INSERTs of `rows` rows each (one statement, one transaction) into plain_events. */
const plain = (database: Database, rows: number, total: number) =>
  rate(rows === 1 ? "plain one-row INSERT" : `plain ${rows}-row INSERT`, rows, total, (writer, batch) => {
    const values = Array.from({ length: rows }, (_, index) => {
      const { type, data } = event(index);
      return sql`(${randomUUID()}, ${`plain-${rows}-${writer}-${batch}-${index}`}, 0, ${type}, ${JSON.stringify(data)}::jsonb, ${JSON.stringify(metadata)}::jsonb)`;
    });
    return sql`insert into plain_events (event_id, stream, revision, type, data, metadata) values ${sql.join(values)}`.execute(
      database.db,
    );
  });

export async function run(): Promise<Record<string, unknown>> {
  const testDatabase = await createTestDatabase();
  const database = await openPostgres(testDatabase.url, { max: 12 });
  try {
    await migrate(database.db);
    // herald_events' columns, defaults, constraints and indexes, with a position sequence of its own.
    await sql`create table plain_events (like herald_events including all)`.execute(database.db);
    await sql`create sequence plain_events_position owned by plain_events.position`.execute(database.db);
    await sql`alter table plain_events alter column position set default nextval('plain_events_position')`.execute(
      database.db,
    );
    const store = await createPostgresEventStore<AnyEvent>(database);
    const batchOf1 = await herald(store, 1, SINGLES);
    const plainOneRow = await plain(database, 1, SINGLES);
    const batchOf100 = await herald(store, 100, BATCHED);
    const plainMultiRow = await plain(database, 100, BATCHED);

    const readStarted = performance.now();
    let read = 0;
    let position: ReadFrom = "start";
    for (;;) {
      const page: StoredEvent<AnyEvent>[] = await store.readAll(position, { maxCount: 1000 });
      const last = page.at(-1);
      if (!last) break;
      position = last.position;
      read += page.length;
      progress("catch-up read", Math.min(read, SINGLES + BATCHED), SINGLES + BATCHED);
    }
    const readRate = read / ((performance.now() - readStarted) / 1000);
    await store.close();
    return {
      backend: "postgres",
      concurrentWriters: WRITERS,
      appendEventsPerSecond: { batchOf1: round(batchOf1), batchOf100: round(batchOf100) },
      plainInsertRowsPerSecond: {
        oneRowPerTransaction: round(plainOneRow),
        hundredRowsPerStatement: round(plainMultiRow),
      },
      // The goal: batch of 1 at least half the plain one-row INSERT.
      ratioBatchOf1ToPlainOneRow: round(batchOf1 / plainOneRow, 3),
      ratioBatchOf100ToPlainHundredRows: round(batchOf100 / plainMultiRow, 3),
      catchUpReadEventsPerSecond: round(readRate),
      eventsRead: read,
      machine: machine(),
    };
  } finally {
    await database.close();
    await testDatabase.drop();
  }
}
