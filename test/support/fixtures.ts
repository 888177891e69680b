import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TenantEvent, Transaction } from "../../src/domain/ingest-events.js";

/**
 * The realistic transactions and tenant events kept in shared/fixtures, beside the checkout: found
 * by walking up, so that a git worktree (one level deeper) finds them too.
 */
const sharedFixtures = findUp(dirname(fileURLToPath(import.meta.url)), join("shared", "fixtures"));

function findUp(from: string, relative: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    if (dirname(dir) === dir) throw new Error(`no ${relative} above ${from}`);
  }
}

function load<T>(file: string, field: string): T[] {
  const entries = JSON.parse(readFileSync(join(sharedFixtures, file), "utf8")) as Record<string, unknown>[];
  return entries.map((entry) => entry[field] as T);
}

export const fixtureTransactions = (): Transaction[] => load<Transaction>("transactions.json", "transaction");
export const fixtureTenantEvents = (): TenantEvent[] => load<TenantEvent>("tenant-events.json", "event");
