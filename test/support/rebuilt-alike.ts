import { expect } from "vitest";
import type { AnyProjection } from "../../src/projections/projection.js";
import { rebuildProjections } from "../../src/projections/rebuild.js";
import type { EventLogDatabase } from "./event-log-database.js";

/**
 * Rebuilds a projection with pages of 1, 7 and 1,000 events (one event per batch, a few, all of
 * them), expects `read` to give the same each time, and returns what it gave: a bulk fold must
 * not depend on where batches end.
 */
export async function rebuiltAlike<Reading>(
  log: EventLogDatabase,
  projection: AnyProjection,
  read: () => Promise<Reading>,
): Promise<Reading> {
  await rebuildProjections({ database: log.database, store: log.store, projections: [projection], pageSize: 1 });
  const oneByOne = await read();
  for (const pageSize of [7, 1000]) {
    await rebuildProjections({ database: log.database, store: log.store, projections: [projection], pageSize });
    expect(await read(), `pages of ${pageSize}`).toEqual(oneByOne);
  }
  return oneByOne;
}
