import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database } from "../../src/adapters/db/database.js";
import { loadConfig } from "../../src/app/config.js";
import { claimDeliveries } from "../../src/app/delivery-claims.js";
import { createLogger } from "../../src/app/logger.js";
import { openStorage, ROLE_POOL_SIZES, type Storage } from "../../src/app/open-storage.js";
import { deliveryQueueProjection } from "../../src/projections/delivery-queue.js";
import { fixtureTenantEvents } from "../support/fixtures.js";
import { tenantEventAppend } from "../support/tenant-event-appends.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";
import { TEST_ENCRYPTION_KEY } from "../support/test-herald.js";

let testDatabase: TestDatabase;
let storage: Storage;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: testDatabase.url, HERALD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY });
  storage = await openStorage(config, createLogger("silent"), { splitRoles: true });
  await deliveryQueueProjection().setup(storage.roles.worker.db);
});

afterAll(async () => {
  await storage?.close();
  await testDatabase?.drop();
});

/** Appends one tenant event; returns its stream. */
async function appendOne(): Promise<string> {
  const [event] = fixtureTenantEvents();
  if (!event) throw new Error("no tenant event fixture");
  const request = tenantEventAppend(event, Date.now());
  await storage.store.append(request.stream, request.events, request.expectedRevision);
  return request.stream;
}

/** Takes every connection of the handle's pool and keeps them until `release` is called. */
async function holdEvery(database: Database, count: number): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let taken = 0;
  const held = Array.from({ length: count }, () =>
    database.db.connection().execute(async (connection) => {
      await sql`select 1`.execute(connection);
      taken++;
      await released;
    }),
  );
  // Every connection is checked out once each callback has run its query.
  while (taken < count) await new Promise((resolve) => setImmediate(resolve));
  return {
    async release() {
      release();
      await Promise.all(held);
    },
  };
}

it("an append, a log read and a claim complete while the API's and the projections' pools are all taken", async () => {
  const api = await holdEvery(storage.database, ROLE_POOL_SIZES.api);
  const projections = await holdEvery(storage.roles.projections, ROLE_POOL_SIZES.projections);
  let apiAnswered = false;
  const apiQuery = sql`select 1`.execute(storage.database.db).then(() => {
    apiAnswered = true;
  });
  try {
    const stream = await appendOne();
    expect(await storage.store.readStream(stream)).toHaveLength(1);
    expect(
      await claimDeliveries(storage.roles.worker.db, { limit: 1, leaseMs: 1000, skipWebhooks: [], worker: "w" }),
    ).toEqual([]);
    // The API's own query still waits for one of its connections: the others did not take theirs from it.
    expect(apiAnswered).toBe(false);
  } finally {
    await api.release();
    await projections.release();
  }
  await apiQuery;
  expect(apiAnswered).toBe(true);
});

it("names each role's connections in pg_stat_activity", async () => {
  for (const database of [storage.database, storage.roles.projections, storage.roles.worker])
    await sql`select 1`.execute(database.db);
  await storage.store.readAll("start", { maxCount: 1 });
  await appendOne();
  const { rows } = await sql<{ application_name: string }>`
    select distinct application_name from pg_stat_activity
    where datname = ${testDatabase.name}
    order by application_name`.execute(storage.database.db);
  expect(rows.map((row) => row.application_name)).toEqual(
    ["herald:api", "herald:append", "herald:logReader", "herald:projections", "herald:worker"].sort(),
  );
});
