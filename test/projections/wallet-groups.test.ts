import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Database, openPostgres } from "../../src/adapters/db/database.js";
import { migrate } from "../../src/adapters/db/migrations.js";
import type { EventStore } from "../../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore } from "../../src/adapters/eventstore/postgres-event-store.js";
import type { TenantEvent } from "../../src/domain/ingest-events.js";
import { rebuildProjection } from "../../src/projections/projection-runner.js";
import { findWalletGroup, walletGroupsProjection } from "../../src/projections/wallet-groups.js";
import { tenantEventAppend } from "../support/tenant-event-appends.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

let testDatabase: TestDatabase;
let database: Database;
let store: EventStore;
beforeAll(async () => {
  testDatabase = await createTestDatabase();
  database = await openPostgres(testDatabase.url);
  await migrate(database.db);
  store = await createPostgresEventStore(database);
});
afterAll(async () => {
  await store?.close();
  await database?.close();
  await testDatabase?.drop();
});

it("keeps each wallet's newest group, in one batch or across many; an event without a group changes nothing", async () => {
  const [moved, stays, groupless] = [randomUUID(), randomUUID(), randomUUID()];
  const event = (walletId: string, groupId?: string): TenantEvent => ({
    wallet_id: walletId,
    topic: "connections",
    ...(groupId === undefined ? {} : { group_id: groupId }),
    payload: { state: "completed" },
  });
  const events = [event(moved, "acme"), event(stays, "initech"), event(moved, "globex"), event(moved), event(groupless)];
  for (const tenantEvent of events) await store.appendMany([tenantEventAppend(tenantEvent, Date.now())]);

  for (const batchSize of [1000, 1]) {
    const result = await rebuildProjection({ database, store, projection: walletGroupsProjection(), batchSize });
    expect(result.events).toBe(events.length);
    const groups = await Promise.all([moved, stays, groupless].map((walletId) => findWalletGroup(database.db, walletId)));
    expect(groups).toEqual(["globex", "initech", undefined]);
  }
  // A wallet id that PostgreSQL text cannot hold (an SSE path may carry one) is simply unknown.
  expect(await findWalletGroup(database.db, "w\0")).toBeUndefined();
});

it("knows no wallet before any process has created its table", async () => {
  await walletGroupsProjection().teardown(database.db as Kysely<any>);
  expect(await findWalletGroup(database.db, randomUUID())).toBeUndefined();
});
