import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPglite, openPostgres } from "../../../src/adapters/db/database.js";
import { migrate } from "../../../src/adapters/db/migrations.js";
import { createPostgresEventStore } from "../../../src/adapters/eventstore/postgres-event-store.js";
import { createTestDatabase } from "../../support/test-database.js";
import { describeEventStoreContract } from "./event-store-contract.js";

describeEventStoreContract(
  "PostgreSQL (pg)",
  async () => {
    const testDatabase = await createTestDatabase();
    const database = await openPostgres(testDatabase.url, { max: 12 });
    await migrate(database.db);
    const store = await createPostgresEventStore(database);
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
  const store = await createPostgresEventStore(database);
  return {
    store,
    async cleanup() {
      await store.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
