import { type Kysely, sql } from "kysely";
import type { HeraldTables } from "../adapters/db/schema.js";

/**
 * Keyset pagination over a read model ordered by (created_at, id): stable while rows are added,
 * and a page costs an index range scan whatever its depth, unlike OFFSET.
 */
export interface PageKey {
  readonly createdAt: number;
  readonly id: string;
}

/** Already validated by the API edge: at most one of first/last, each 1 to 100. */
export interface PageRequest {
  readonly first?: number | undefined;
  readonly last?: number | undefined;
  readonly after?: PageKey | undefined;
  readonly before?: PageKey | undefined;
}

export interface Page<Row> {
  readonly rows: readonly Row[];
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  /** Rows matching the filter, whatever the cursors. */
  readonly total: number;
}

export const DEFAULT_PAGE_SIZE = 100;

/** Optional bounds on created_at: from `since` (inclusive) to `until` (exclusive). */
export interface CreatedRange {
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

/** The table as this helper sees it: columns by name, of which a `created_at bigint`. */
interface PagedRow {
  readonly created_at: bigint;
  readonly [column: string]: unknown;
}

/**
 * One page of `table` where every column in `filter` equals its value and created_at is within
 * `range`. The table must have a `created_at bigint` column and the id column named; rows come back
 * as the table stores them.
 */
export async function readPage<Row>(
  db: Kysely<HeraldTables>,
  table: string,
  idColumn: string,
  filter: Readonly<Record<string, string>>,
  request: PageRequest,
  range: CreatedRange = {},
): Promise<Page<Row>> {
  const key = sql`(created_at, ${sql.ref(idColumn)})`;
  let query = db.withTables<Record<string, PagedRow>>().selectFrom(table);
  for (const [column, value] of Object.entries(filter)) query = query.where(column, "=", value);
  if (range.since !== undefined) query = query.where("created_at", ">=", BigInt(range.since));
  if (range.until !== undefined) query = query.where("created_at", "<", BigInt(range.until));
  const total = await query.select(sql<bigint>`count(*)`.as("total")).executeTakeFirstOrThrow();

  let rowsQuery = query.selectAll();
  if (request.after)
    rowsQuery = rowsQuery.where(sql<boolean>`${key} > (${request.after.createdAt}::bigint, ${request.after.id}::text)`);
  if (request.before)
    rowsQuery = rowsQuery.where(
      sql<boolean>`${key} < (${request.before.createdAt}::bigint, ${request.before.id}::text)`,
    );
  const fromEnd = request.last !== undefined && request.first === undefined;
  const size = (fromEnd ? request.last : request.first) ?? DEFAULT_PAGE_SIZE;
  const direction = fromEnd ? "desc" : "asc";
  const fetched = (await rowsQuery
    .orderBy("created_at", direction)
    .orderBy(idColumn, direction)
    .limit(size + 1)
    .execute()) as Row[];
  const more = fetched.length > size;
  const rows = fetched.slice(0, size);
  if (fromEnd) rows.reverse();
  return {
    rows,
    // A cursor on the other side means there are rows there, as far as the client knows.
    hasNextPage: fromEnd ? request.before !== undefined : more,
    hasPreviousPage: fromEnd ? more : request.after !== undefined,
    total: Number(total.total),
  };
}
