import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { type Database, openPglites } from "../../../src/adapters/db/database.js";

describe("openPglites", () => {
  const root = mkdtempSync(join(tmpdir(), "herald-pglites-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("makes independent clusters from one initdb, leaves no partial copy behind, and reopens them with their data", async () => {
    const [a, b] = [join(root, "a"), join(root, "b")];
    // A copy a crash interrupted earlier, and an empty directory: neither may be taken for a cluster.
    mkdirSync(`${b}.partial`, { recursive: true });
    writeFileSync(join(`${b}.partial`, "junk"), "x");
    mkdirSync(b, { recursive: true });

    const [first, second] = (await openPglites([a, b])) as [Database, Database];
    expect(existsSync(`${b}.partial`)).toBe(false);
    await sql`create table only_in_a (n int)`.execute(first.db);
    await sql`insert into only_in_a values (1)`.execute(first.db);
    const inB = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_tables where tablename = 'only_in_a'`.execute(second.db);
    expect(inB.rows[0]?.n).toBe(0);
    await first.close();
    await second.close();

    const reopened = await openPglites([a, b]);
    const rows = await sql<{ n: number }>`select n from only_in_a`.execute(reopened[0]!.db);
    expect(rows.rows).toEqual([{ n: 1 }]);
    await Promise.all(reopened.map((database) => database.close()));
  }, 120_000);
});
