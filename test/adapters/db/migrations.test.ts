import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { type Database, openPglite, openPostgres } from "../../../src/adapters/db/database.js";
import { migrate } from "../../../src/adapters/db/migrations.js";
import { createTestDatabase } from "../../support/test-database.js";

/**
 * Migration 0005 makes the delivery workers' tables on a database whose delivery-queue projection
 * (version 2) still keeps their state in its own columns, and carries that state over before the
 * projection's next version drops those tables: on PostgreSQL and on PGlite (embedded mode).
 */
const root = mkdtempSync(join(tmpdir(), "herald-migrations-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const backends: [string, () => Promise<{ database: Database; drop: () => Promise<void> }>][] = [
  [
    "PostgreSQL",
    async () => {
      const test = await createTestDatabase();
      const database = await openPostgres(test.url);
      const drop = async () => {
        await database.close();
        await test.drop();
      };
      return { database, drop };
    },
  ],
  [
    "PGlite",
    async () => {
      const database = await openPglite(join(root, "pglite"));
      return { database, drop: () => database.close() };
    },
  ],
];

describe.each(backends)("on %s", (_, open) => {
  it("carries live leases and rate-limit schedules over from the old queue tables, once", async () => {
    const { database, drop } = await open();
    try {
      const { db } = database;
      // The tables as version 2 of the delivery-queue projection made them.
      await sql`
        create table delivery_endpoints (
          webhook_id text primary key, url text not null, retries integer not null, rate_limit integer,
          rate_tat_ms double precision, api_key text not null, signing_secret text not null, status text not null
        )`.execute(db);
      await sql`
        create table delivery_queue (
          delivery_id text primary key, webhook_id text not null, payload text not null,
          correlation_id text not null, state text not null, attempts integer not null, revision bigint not null,
          due_at timestamptz not null, leased_until timestamptz, leased_by text
        )`.execute(db);
      await sql`
        insert into delivery_endpoints values
          ('limited', 'u', 5, 2, 1234.5, 'k', 's', 'active'),
          ('unlimited', 'u', 5, null, null, 'k', 's', 'active')`.execute(db);
      await sql`
        insert into delivery_queue values
          ('live', 'limited', '{}', 'c', 'pending', 2, 4, now(), now() + interval '1 minute', 'worker-a'),
          ('expired', 'limited', '{}', 'c', 'pending', 0, 0, now(), now() - interval '1 minute', 'worker-b'),
          ('free', 'unlimited', '{}', 'c', 'pending', 0, 0, now(), null, null)`.execute(db);

      await migrate(db);
      await migrate(db);

      const leases = await sql`
        select delivery_id, leased_by, revision::int, webhook_id from delivery_leases`.execute(db);
      expect(leases.rows).toEqual([{ delivery_id: "live", leased_by: "worker-a", revision: 4, webhook_id: "limited" }]);
      const rates = await sql`select webhook_id, rate_tat_ms from delivery_send_rates`.execute(db);
      expect(rates.rows).toEqual([{ webhook_id: "limited", rate_tat_ms: 1234.5 }]);
    } finally {
      await drop();
    }
  });
});
