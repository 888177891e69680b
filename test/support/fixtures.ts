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

/** The collection of the Asset Register documentation's example transaction (fixtureTransactions()[0]). */
export const SEED_COLLECTION = "1:evm:0x6bca6de2dbdc4e0d41f7273011785ea16ba47182";

export const fixtureTransactions = (): Transaction[] => load<Transaction>("transactions.json", "transaction");
export const fixtureTenantEvents = (): TenantEvent[] => load<TenantEvent>("tenant-events.json", "event");
