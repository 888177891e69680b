import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { openPglite, openPostgres } from "../../../src/adapters/db/database.js";
import { migrate } from "../../../src/adapters/db/migrations.js";
import type { AnyEvent, EventStore } from "../../../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../../../src/adapters/eventstore/postgres-event-store.js";
import { createTestDatabase } from "../../support/test-database.js";
import { describeEventStoreContract } from "./event-store-contract.js";

describeEventStoreContract(
  "PostgreSQL (pg)",
  async () => {
    const testDatabase = await createTestDatabase();
    const database = await openPostgres(testDatabase.url, { max: 12 });
    await migrate(database.db);
    const store = await createPostgresEventStore<AnyEvent>(database);
    return {
      store,
      async cleanup() {
        await store.close();
        await database.close();
        await testDatabase.drop();
      },
    };
  },
  { orderingRuns: Number(process.env.HERALD_ORDERING_RUNS ?? 20) },
);

describeEventStoreContract("PostgreSQL (PGlite, embedded)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "herald-pglite-"));
  const database = await openPglite(dir);
  await migrate(database.db);
  const store = await createPostgresEventStore<AnyEvent>(database);
  return {
    store,
    async cleanup() {
      await store.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("PostgreSQL event log: reading backwards", () => {
  it("hides what forward reads hide: events behind a transaction that is still open", async () => {
    const testDatabase = await createTestDatabase();
    const database = await openPostgres(testDatabase.url);
    const holder = new pg.Client({ connectionString: testDatabase.url });
    try {
      await migrate(database.db);
      const store = await createPostgresEventStore<AnyEvent>(database);
      const metadata = { correlationId: "c", causationId: "c", actor: "test", at: new Date().toISOString() };
      const first = await store.append("s-1", [{ type: "Happened", data: {}, metadata }], "no_stream");
      // Transactions of other databases on the shared server hold the horizon back too: s-1 first.
      await expect.poll(async () => (await store.readAllBackwards("end")).length, { timeout: 20_000 }).toBe(1);
      // An append that has taken its transaction id and not committed yet: everything after it waits.
      await holder.connect();
      await holder.query("begin");
      await holder.query("select pg_current_xact_id()");
      await store.append("s-2", [{ type: "Happened", data: {}, metadata }], "no_stream");
      expect((await store.readAllBackwards("end")).map((event) => event.stream)).toEqual(["s-1"]);
      expect(await store.headPosition()).toEqual(first.position);
      await holder.query("commit");
      await expect
        .poll(async () => (await store.readAllBackwards("end")).map((event) => event.stream), { timeout: 20_000 })
        .toEqual(["s-2", "s-1"]);
      await store.close();
    } finally {
      await holder.end();
      await database.close();
      await testDatabase.drop();
    }
  });
});

describe("PostgreSQL event log: waking readers", () => {
  it("commits appends without a NOTIFY inside them, and wakes a reader in another process by one sent after commit", async () => {
    const testDatabase = await createTestDatabase();
    const writerDatabase = await openPostgres(testDatabase.url);
    const readerDatabase = await openPostgres(testDatabase.url);
    const listener = new pg.Client({ connectionString: testDatabase.url });
    try {
      await migrate(writerDatabase.db);
      const triggers = await listener
        .connect()
        .then(() =>
          listener.query(
            "select count(*)::int as n from pg_trigger where tgrelid = 'herald_events'::regclass and not tgisinternal",
          ),
        );
      expect(triggers.rows[0].n).toBe(0);
      const notified: string[] = [];
      listener.on("notification", (message) => notified.push(message.payload ?? ""));
      await listener.query("listen herald_events");

      const writer = await createPostgresEventStore<AnyEvent>(writerDatabase);
      const reader = await createPostgresEventStore<AnyEvent>(readerDatabase);
      const subscription = reader.subscribeAll(await reader.headPosition());
      const metadata = { correlationId: "c", causationId: "c", actor: "test", at: new Date().toISOString() };
      await writer.append("s-1", [{ type: "Happened", data: {}, metadata }], "no_stream");
      const batch = await subscription.nextBatch(10);
      expect(batch.map((event) => event.stream)).toEqual(["s-1"]);
      await expect.poll(() => notified.length).toBeGreaterThan(0);
      expect(notified.every((payload) => payload.length > 0)).toBe(true);
      await subscription.close();
      await reader.close();
      await writer.close();
    } finally {
      await listener.end();
      await readerDatabase.close();
      await writerDatabase.close();
      await testDatabase.drop();
    }
  });
});

describe("PostgreSQL event log: the fence", () => {
  const metadata = { correlationId: "c", causationId: "c", actor: "test", at: "2026-11-24T00:00:00.000Z" };
  const event = (type: string) => [{ type, data: {}, metadata }];

  /** Runs `test` with a store and a second connection that can hold the fence the way an append does. */
  async function withHolder(test: (store: EventStore<AnyEvent>, holder: pg.Client) => Promise<void>): Promise<void> {
    const testDatabase = await createTestDatabase();
    const database = await openPostgres(testDatabase.url);
    const holder = new pg.Client({ connectionString: testDatabase.url });
    try {
      await migrate(database.db);
      await holder.connect();
      const store = await createPostgresEventStore<AnyEvent>(database);
      await test(store, holder);
      await store.close();
    } finally {
      await holder.end();
      await database.close();
      await testDatabase.drop();
    }
  }

  /** Until another connection waits for an advisory lock: the append under test is blocked on the fence. */
  async function untilWaitingOnFence(holder: pg.Client): Promise<void> {
    await expect
      .poll(
        async () =>
          (await holder.query("select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted"))
            .rows[0].n,
      )
      .toBe(1);
  }

  it("makes a fenced write wait for a check that took the fence first", async () => {
    await withHolder(async (store, holder) => {
      await store.append("subscription-set", event("Changed"), "no_stream");
      await holder.query("begin");
      // herald_append as appendMany calls it, with a fence check and nothing to append.
      await holder.query(
        "select * from herald_append('{}', '{}', '{}', '{}', '{}', '{}', '{}', 'subscription-set', 0)",
      );
      const order: string[] = [];
      const write = store
        .appendMany([{ stream: "subscription-set", events: event("Changed"), expectedRevision: 0n }], {
          fence: { stream: "subscription-set" },
        })
        .then((outcomes) => {
          order.push("write");
          return outcomes;
        });
      await untilWaitingOnFence(holder);
      order.push("check commits");
      await holder.query("commit");
      expect((await write).map((outcome) => outcome.ok)).toEqual([true]);
      expect(order).toEqual(["check commits", "write"]);
    });
  });

  it("makes a check wait for a fenced write that took the fence first, and then refuses it", async () => {
    await withHolder(async (store, holder) => {
      await store.append("subscription-set", event("Changed"), "no_stream");
      await holder.query("begin");
      // herald_append as appendMany calls it for a fenced write of one event to the fence stream.
      const written = await holder.query(
        "select appended from herald_append(array['subscription-set'], array[0::bigint], array[1], array[gen_random_uuid()], array['Changed'], array['{}'::jsonb], array['{}'::jsonb], 'subscription-set', null)",
      );
      expect(written.rows).toEqual([{ appended: true }]);
      const order: string[] = [];
      const check = store
        .appendMany([{ stream: "transaction-1", events: event("Received"), expectedRevision: "no_stream" }], {
          fence: { stream: "subscription-set", expectedRevision: 0n },
        })
        .catch((error: unknown) => {
          order.push("check");
          return error;
        });
      await untilWaitingOnFence(holder);
      order.push("write commits");
      await holder.query("commit");
      expect(await check).toMatchObject({ code: "FENCE_MOVED", actual: 1n });
      expect(order).toEqual(["write commits", "check"]);
      expect(await store.readStream("transaction-1")).toEqual([]);
    });
  });
});
