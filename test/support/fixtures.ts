import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TenantEvent, Transaction } from "../../src/domain/ingest-events.js";

/** The realistic transactions and tenant events kept in ../shared/fixtures. */
const sharedFixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "shared", "fixtures");

function load<T>(file: string, field: string): T[] {
  const entries = JSON.parse(readFileSync(join(sharedFixtures, file), "utf8")) as Record<string, unknown>[];
  return entries.map((entry) => entry[field] as T);
}

export const fixtureTransactions = (): Transaction[] => load<Transaction>("transactions.json", "transaction");
export const fixtureTenantEvents = (): TenantEvent[] => load<TenantEvent>("tenant-events.json", "event");
