import { type Kysely, sql } from "kysely";
import type { HeraldTables } from "../adapters/db/schema.js";
import { getOrCreate } from "../domain/get-or-create.js";

/**
 * Bulk writes for projections that fold a batch in memory: one statement for any number of rows,
 * with one array parameter per column (unnest), so a 5,000-event page stays within PostgreSQL's
 * parameter limit and costs one plan.
 */

/**
 * A column and its PostgreSQL type (the array parameter is cast to `type[]`). An array column
 * (`text[]`) goes as one JSON array per row: unnest cannot take an array of arrays of different
 * lengths.
 */
export type BulkColumn<Row> = readonly [name: keyof Row & string, type: string];

/**
 * Inserts the rows, or on a conflict on `key` sets every other column (omit `key` to insert only,
 * failing on a conflict as a plain insert does). bigint values go as text: neither driver sends a
 * bigint array as such.
 */
export async function insertRows<Row>(
  db: Kysely<HeraldTables>,
  table: string,
  columns: readonly BulkColumn<Row>[],
  rows: readonly Row[],
  onConflict?: { readonly key: keyof Row & string; readonly update: boolean },
): Promise<void> {
  if (rows.length === 0) return;
  const names = sql.join(columns.map(([name]) => sql.ref(name)));
  const arrays = sql.join(
    columns.map(([name, type]) =>
      type.endsWith("[]")
        ? sql`${sql.val(rows.map((row) => JSON.stringify(row[name])))}::jsonb[]`
        : sql`${sql.val(rows.map((row) => toParameter(row[name])))}::${sql.raw(type)}[]`,
    ),
  );
  const values = sql.join(
    columns.map(([name, type]) =>
      type.endsWith("[]")
        ? sql`array(select e from jsonb_array_elements_text(${sql.ref(`u.${name}`)}) with ordinality as a(e, i) order by i)::${sql.raw(type)}`
        : sql.ref(`u.${name}`),
    ),
  );
  const others = columns.filter(([name]) => name !== onConflict?.key);
  const conflict = !onConflict
    ? sql``
    : onConflict.update
      ? sql`on conflict (${sql.ref(onConflict.key)}) do update set ${sql.join(others.map(([name]) => sql`${sql.ref(name)} = excluded.${sql.ref(name)}`))}`
      : sql`on conflict (${sql.ref(onConflict.key)}) do nothing`;
  await sql`insert into ${sql.table(table)} (${names}) select ${values} from unnest(${arrays}) as u(${names}) ${conflict}`.execute(
    db,
  );
}

/** Deletes the rows whose `column` is one of `values`. */
export async function deleteRows(
  db: Kysely<HeraldTables>,
  table: string,
  column: string,
  values: Iterable<string>,
): Promise<void> {
  const list = [...values];
  if (list.length === 0) return;
  await sql`delete from ${sql.table(table)} where ${sql.ref(column)} = any(${sql.val(list)}::text[])`.execute(db);
}

function toParameter(value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/**
 * What a projection gathers from one batch, kept per batch transaction: a batch that fails part
 * way is handled again under a new transaction and starts from nothing.
 */
export function perBatch<Gathered>(create: () => Gathered): {
  of(trx: object): Gathered;
  take(trx: object): Gathered | undefined;
} {
  const gathered = new WeakMap<object, Gathered>();
  return {
    of(trx) {
      const current = getOrCreate(gathered, trx, () => create());
      return current;
    },
    take(trx) {
      const current = gathered.get(trx);
      gathered.delete(trx);
      return current;
    },
  };
}
