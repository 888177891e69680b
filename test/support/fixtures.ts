import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TenantEvent, Transaction } from "../../src/domain/ingest-events.js";

/**
 * The realistic transactions and tenant events of shared/fixtures. The team keeps them current
 * beside the checkout (found by walking up, so a git worktree finds them too); a clone on its own,
 * as CI may make, uses the copy committed in test/fixtures.
 */
const here = dirname(fileURLToPath(import.meta.url));
const sharedFixtures = findUp(here, join("shared", "fixtures")) ?? join(here, "..", "fixtures");

function findUp(from: string, relative: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    if (dirname(dir) === dir) return undefined;
  }
}

function load<T>(file: string, field: string): T[] {
  const entries = JSON.parse(readFileSync(join(sharedFixtures, file), "utf8")) as Record<string, unknown>[];
  return entries.map((entry) => entry[field] as T);
}

/** The collection of the seed transaction (fixtureTransactions()[0]). */
export const SEED_COLLECTION = "1:evm:0x6bca6de2dbdc4e0d41f7273011785ea16ba47182";

export const fixtureTransactions = (): Transaction[] => load<Transaction>("transactions.json", "transaction");
export const fixtureTenantEvents = (): TenantEvent[] => load<TenantEvent>("tenant-events.json", "event");
