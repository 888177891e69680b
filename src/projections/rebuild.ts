import type { Database } from "../adapters/db/database.js";
import type { AnyEvent, EventStore, Position, ReadFrom } from "../adapters/eventstore/event-store.js";
import type { HeraldEvent } from "../domain/herald-event.js";
import { CheckpointMovedError } from "./checkpoints.js";
import type { AnyProjection } from "./projection.js";
import { applyBatch, applyGroupBatch, type BatchSlice, resetProjection } from "./projection-batch.js";
import { PROJECTIONS_LOCK } from "./projection-group.js";

export interface RebuildOptions<E extends AnyEvent = HeraldEvent> {
  readonly database: Database;
  readonly store: EventStore<E>;
  readonly projections: readonly AnyProjection<E>[];
  /** Projections that append: each applies a page in its own transaction, beside the others'. */
  readonly reactors?: readonly AnyProjection<E>[];
  /** Events read per page (one transaction for the group per page). */
  readonly pageSize?: number;
  /** Called after each page with the number of events read so far and the last position. */
  readonly onProgress?: (read: number, position: Position) => void;
}

export interface RebuildResult {
  /** Events read from the log. */
  readonly events: number;
  /** Events each projection applied. */
  readonly applied: ReadonlyMap<string, number>;
  readonly ms: number;
}

/**
 * Drops the projections' tables and replays them all from the first event up to the store's head in
 * one pass over the log, under the group's lock so that no running process applies events at the
 * same time: pages of 5,000 events, the next page read while one is applied, the projections'
 * transactions of a page side by side, rebuild transactions (no wait for the WAL flush), secondary
 * indexes created after the last page.
 */
export async function rebuildProjections<E extends AnyEvent>(options: RebuildOptions<E>): Promise<RebuildResult> {
  const { database, store } = options;
  const reactors = options.reactors ?? [];
  const all = [...reactors, ...options.projections];
  const release = await database.tryLock(PROJECTIONS_LOCK, () => {});
  if (!release) throw new Error("the projections are being run by a herald process; stop it before a rebuild");
  const started = performance.now();
  const applied = new Map(all.map((projection) => [projection.name, 0]));
  let read = 0;
  try {
    for (const projection of all) await resetProjection(database.db, projection, { indexes: false });
    const pageSize = options.pageSize ?? 5000;
    const types = new Set(all.flatMap((projection) => projection.eventTypes));
    let position: ReadFrom = "start";
    let next = store.readAll(position, { maxCount: pageSize });
    for (;;) {
      const events = await next;
      const last = events.at(-1);
      if (!last) break;
      // Read-ahead: the next page is on its way while this one is applied.
      next = store.readAll(last.position, { maxCount: pageSize });
      next.catch(() => {});
      const relevant = events.filter((event) => types.has(event.type));
      const slice = (projection: AnyProjection<E>): BatchSlice<E> => {
        const types = new Set(projection.eventTypes);
        const mine = relevant.filter((event) => types.has(event.type));
        applied.set(projection.name, (applied.get(projection.name) ?? 0) + mine.length);
        return { projection, from: position, events: mine };
      };
      // Each projection with events applies in a transaction of its own, all at once: their statements
      // wait on round trips, not on each other. Those without events move together in one statement.
      const slices = all.map(slice);
      const busy = slices.filter((one) => one.events.length > 0);
      await Promise.all([
        ...busy.map((one) =>
          applyBatch(database.db, one.projection, one.from, one.events, last.position, { rebuild: true }),
        ),
        applyGroupBatch(
          database.db,
          slices.filter((one) => one.events.length === 0),
          last.position,
          { rebuild: true },
        ),
      ]);
      position = last.position;
      read += events.length;
      options.onProgress?.(read, last.position);
    }
    for (const projection of all) await projection.indexes?.(database.db);
  } catch (error) {
    if (error instanceof CheckpointMovedError)
      throw new Error("a herald process moved the checkpoints during the rebuild; stop it and rebuild again", {
        cause: error,
      });
    throw error;
  } finally {
    await release();
  }
  return { events: read, applied, ms: performance.now() - started };
}
