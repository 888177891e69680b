import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TenantEvent, Transaction } from "../../src/domain/ingest-events.js";

/** Realistic transactions and tenant events, committed in test/fixtures. */
const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

function load<T>(file: string, field: string): T[] {
  const entries = JSON.parse(readFileSync(join(fixtures, file), "utf8")) as Record<string, unknown>[];
  return entries.map((entry) => entry[field] as T);
}

export const fixtureTransactions = (): Transaction[] => load<Transaction>("transactions.json", "transaction");
export const fixtureTenantEvents = (): TenantEvent[] => load<TenantEvent>("tenant-events.json", "event");
