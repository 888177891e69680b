/**
 * The PostgreSQL event log: append throughput in batches of 1 and of 100 events, and catch-up read
 * throughput over 100,000 events. A baseline, not a pass mark.
 */
import { openPostgres } from "../src/adapters/db/database.js";
import { migrate } from "../src/adapters/db/migrations.js";
import type { EventStore, NewEvent, ReadFrom } from "../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../src/adapters/eventstore/postgres-event-store.js";
import { createTestDatabase } from "../test/support/test-database.js";
import { machine, progress, round } from "./bench-support.js";

const metadata = { correlationId: "bench", causationId: "bench", actor: "bench", at: new Date(0).toISOString() };
const event = (index: number): NewEvent => ({ type: "BenchHappened", data: { index, payload: "x".repeat(200) }, metadata });

async function appendRate(store: EventStore, batchSize: number, total: number, writers: number): Promise<number> {
  let written = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let batch = 0; written < total; batch++) {
        written += batchSize;
        const events = Array.from({ length: batchSize }, (_, index) => event(index));
        await store.append(`bench-${batchSize}-${writer}-${batch % 50}`, events, "any");
        progress(`append, batches of ${batchSize}`, Math.min(written, total), total);
      }
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

export async function run(): Promise<Record<string, unknown>> {
  const testDatabase = await createTestDatabase();
  const database = await openPostgres(testDatabase.url, { max: 12 });
  try {
    await migrate(database.db);
    const store = await createPostgresEventStore(database);
    const single = await appendRate(store, 1, 5_000, 8);
    const batched = await appendRate(store, 100, 100_000, 8);

    const readStarted = performance.now();
    let read = 0;
    let position: ReadFrom = "start";
    for (;;) {
      const page = await store.readAll(position, { maxCount: 1000 });
      const last = page.at(-1);
      if (!last) break;
      position = last.position;
      read += page.length;
      progress("catch-up read", Math.min(read, 105_000), 105_000);
    }
    const readRate = read / ((performance.now() - readStarted) / 1000);
    await store.close();
    return {
      backend: "postgres",
      appendEventsPerSecond: { batchOf1: round(single), batchOf100: round(batched) },
      concurrentWriters: 8,
      catchUpReadEventsPerSecond: round(readRate),
      eventsRead: read,
      machine: machine(),
    };
  } finally {
    await database.close();
    await testDatabase.drop();
  }
}
