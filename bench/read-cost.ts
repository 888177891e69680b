/**
 * What one empty wake-up of a rare-event reader costs behind a long tail: EXPLAIN ANALYZE of the
 * filtered read as it was (type = any(...) over the read-order index, reading on to the first match)
 * and of readPage (a bounded look of 5,000 rows: the first page past the tail, read once, and an empty
 * wake-up at the head, where a reader that moved past the tail stands), behind 10,000 and 100,000
 * events of other types, on a fresh PostgreSQL event log of its own.
 */
import { sql } from "kysely";
import { openPostgres } from "../src/adapters/db/database.js";
import { migrate } from "../src/adapters/db/migrations.js";
import type { AnyEvent, Position } from "../src/adapters/eventstore/event-store.js";
import { createPostgresEventStore, readPageQuery } from "../src/adapters/eventstore/postgres-event-store.js";
import { createTestDatabase } from "../test/support/test-database.js";
import { progress, round } from "./bench-support.js";

const TAILS = [10_000, 100_000];
const metadata = { correlationId: "c", causationId: "c", actor: "bench", at: new Date(0).toISOString() };

export async function run(): Promise<Record<string, unknown>> {
  const testDatabase = await createTestDatabase();
  const database = await openPostgres(testDatabase.url);
  try {
    await migrate(database.db);
    const store = await createPostgresEventStore<AnyEvent>(database);
    const rare = await store.append("rare-1", [{ type: "Rare", data: {}, metadata }], "no_stream");
    const from = rare.position;
    const results: Record<string, unknown> = {};
    let appended = 0;
    for (const tail of TAILS) {
      for (; appended < tail; appended += 5000) {
        await store.appendMany([
          {
            stream: `other-${appended}`,
            events: Array.from({ length: 5000 }, () => ({ type: "Other", data: {}, metadata })),
            expectedRevision: "no_stream",
          },
        ]);
        progress("read-cost: appending", appended + 5000, TAILS.at(-1)!);
      }
      await sql`analyze herald_events`.execute(database.db);
      const head = await store.headPosition();
      if (head === "start") throw new Error("the log is empty");
      const filtered = await explain(
        database,
        sql`
        select position, transaction_id::text, event_id, stream, revision, type, data, metadata from herald_events
        where transaction_id < pg_snapshot_xmin(pg_current_snapshot()) and ${after(from)} and type = any(${sql.val(["Rare"])}::text[])
        order by transaction_id, position limit 500`,
      );
      const filter = { eventTypes: ["Rare"] };
      const firstPage = await explain(database, readPageQuery(from, { filter }));
      const atHead = await explain(database, readPageQuery(head, { filter }));
      results[`behind${tail}`] = {
        filteredRead: filtered,
        readPageFirstPastTail: firstPage,
        readPageWakeUpAtHead: atHead,
      };
    }
    await store.close();
    return results;
  } finally {
    await database.close();
    await testDatabase.drop();
  }
}

function after(from: Position) {
  return sql`(transaction_id, position) > (${from.commit.toString()}::xid8, ${from.prepare.toString()}::bigint)`;
}

/** Execution time and rows the scans of herald_events looked at (returned plus removed by filter). */
async function explain(database: Awaited<ReturnType<typeof openPostgres>>, query: ReturnType<typeof sql>) {
  const result = await sql<{ "QUERY PLAN": unknown }>`explain (analyze, format json) ${query}`.execute(database.db);
  const [plan] = result.rows[0]!["QUERY PLAN"] as [{ "Execution Time": number; Plan: PlanNode }];
  let rows = 0;
  const visit = (node: PlanNode) => {
    if (node["Relation Name"] === "herald_events")
      rows += (node["Actual Rows"] + (node["Rows Removed by Filter"] ?? 0)) * node["Actual Loops"];
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(plan.Plan);
  return { ms: round(plan["Execution Time"], 2), rows };
}

interface PlanNode {
  "Relation Name"?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}
