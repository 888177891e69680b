import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TenantEvent, Transaction } from "../../src/domain/ingest-events.js";

/**
 * The realistic transactions and tenant events kept in shared/fixtures, next to the checkout: one
 * level up from the main checkout, two from a worktree under wt/.
 */
const sharedFixtures = findSharedFixtures(dirname(fileURLToPath(import.meta.url)));

function findSharedFixtures(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, "shared", "fixtures");
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`no shared/fixtures directory above ${from}`);
}

function load<T>(file: string, field: string): T[] {
  const entries = JSON.parse(readFileSync(join(sharedFixtures, file), "utf8")) as Record<string, unknown>[];
  return entries.map((entry) => entry[field] as T);
}

export const fixtureTransactions = (): Transaction[] => load<Transaction>("transactions.json", "transaction");
export const fixtureTenantEvents = (): TenantEvent[] => load<TenantEvent>("tenant-events.json", "event");
