import { afterAll, beforeAll } from "vitest";
import { type Database, openPostgres } from "../../src/adapters/db/database.js";
import { migrate } from "../../src/adapters/db/migrations.js";
import type { AnyEvent, EventStore } from "../../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../../src/adapters/eventstore/postgres-event-store.js";
import type { HeraldEvent } from "../../src/domain/herald-event.js";
import { createTestDatabase, type TestDatabase } from "./test-database.js";

export interface EventLogDatabase<E extends AnyEvent = HeraldEvent> {
  readonly database: Database;
  readonly store: EventStore<E>;
}

/**
 * For the tests of the calling file or describe block: a migrated database of their own with the
 * PostgreSQL event log on it, opened before them and dropped after them. Read its fields inside
 * tests and hooks (they are set by beforeAll).
 */
export function useEventLogDatabase<E extends AnyEvent = HeraldEvent>(
  options: { readonly max?: number } = {},
): EventLogDatabase<E> {
  let testDatabase: TestDatabase | undefined;
  let database: Database | undefined;
  let store: EventStore<E> | undefined;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
    database = await openPostgres(testDatabase.url, options);
    await migrate(database.db);
    store = await createPostgresEventStore<E>(database);
  });
  afterAll(async () => {
    await store?.close();
    await database?.close();
    await testDatabase?.drop();
  });
  return {
    get database() {
      if (!database) throw new Error("useEventLogDatabase: read the database inside a test or hook");
      return database;
    },
    get store() {
      if (!store) throw new Error("useEventLogDatabase: read the store inside a test or hook");
      return store;
    },
  };
}
