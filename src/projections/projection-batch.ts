import { type Kysely, sql, type Transaction } from "kysely";
import type { Logger } from "pino";
import type { HeraldTables } from "../adapters/db/schema.js";
import type { AnyEvent, ReadFrom, StoredEvent } from "../adapters/eventstore/event-store.js";
import type { HeraldEvent } from "../domain/herald-event.js";
import { ensureCheckpoint, moveCheckpoints, readCheckpoint } from "./checkpoints.js";
import { type AnyProjection, ProjectionHandlerError } from "./projection.js";

/** One projection's share of a batch: the events it handles, after its checkpoint `from`. */
export interface BatchSlice<E extends AnyEvent = HeraldEvent> {
  readonly projection: AnyProjection<E>;
  readonly from: ReadFrom;
  readonly events: readonly StoredEvent<E>[];
}

export interface BatchOptions {
  /**
   * A rebuild's transactions commit without waiting for the WAL flush: rows and checkpoints commit
   * together, so a crash loses progress, never consistency. Never on the live path.
   */
  readonly rebuild?: boolean;
}

/**
 * Applies every projection's slice and moves all their checkpoints to `to` in one transaction, the
 * checkpoints last with one conditional statement: the transaction takes its transaction id at its
 * first write and holds it only for the writes, not for reads ahead of them.
 */
export async function applyGroupBatch<E extends AnyEvent>(
  db: Kysely<HeraldTables>,
  slices: readonly BatchSlice<E>[],
  to: ReadFrom,
  options: BatchOptions = {},
): Promise<void> {
  if (slices.length === 0) return;
  const moves = slices.map(({ projection, from }) => ({ projection: projection.name, from, to }));
  if (slices.every(({ events, from }) => events.length === 0 && from !== "start")) {
    // Nothing to apply (a page of events none of them handles): one statement, no transaction.
    return moveCheckpoints(db, moves);
  }
  await db.transaction().execute(async (trx) => {
    if (options.rebuild) await sql`set local synchronous_commit = off`.execute(trx);
    for (const { projection, events } of slices) await applyEvents(trx, projection, events);
    for (const { projection, from } of slices) {
      if (from === "start") await ensureCheckpoint(trx, projection.name, projection.version);
    }
    await moveCheckpoints(trx, moves);
  });
}

/** One projection's batch with its checkpoint, from `from` to `to` (default: the last event's position). */
export async function applyBatch<E extends AnyEvent>(
  db: Kysely<HeraldTables>,
  projection: AnyProjection<E>,
  from: ReadFrom,
  events: readonly StoredEvent<E>[],
  to?: ReadFrom,
  options: BatchOptions = {},
): Promise<void> {
  const end = to ?? events.at(-1)?.position;
  if (!end) return;
  await applyGroupBatch(db, [{ projection, from, events }], end, options);
}

async function applyEvents<E extends AnyEvent>(
  trx: Transaction<HeraldTables>,
  projection: AnyProjection<E>,
  events: readonly StoredEvent<E>[],
): Promise<void> {
  const last = events.at(-1);
  if (!last) return;
  for (const event of events) {
    try {
      await projection.handle(trx, event);
    } catch (cause) {
      throw new ProjectionHandlerError(projection.name, event, { cause });
    }
  }
  if (projection.afterBatch) {
    try {
      await projection.afterBatch(trx);
    } catch (cause) {
      throw new ProjectionHandlerError(projection.name, last, { cause });
    }
  }
}

/** Creates the projection's tables and checkpoint, rebuilding them first when the stored version is older. */
export async function prepareProjection<E extends AnyEvent>(
  db: Kysely<HeraldTables>,
  projection: AnyProjection<E>,
  logger: Logger,
): Promise<void> {
  const checkpoint = await readCheckpoint(db, projection.name);
  if (checkpoint && checkpoint.version !== projection.version) {
    logger.warn(
      { projection: projection.name, from: checkpoint.version, to: projection.version },
      "projection version changed; rebuilding",
    );
    await resetProjection(db, projection);
  } else {
    await projection.setup(db);
    await projection.indexes?.(db);
  }
  await ensureCheckpoint(db, projection.name, projection.version);
}

/**
 * Drops a projection's tables and checkpoint and creates the tables empty, with their secondary
 * indexes unless `indexes` is false (a rebuild creates them after its last page).
 */
export async function resetProjection<E extends AnyEvent>(
  db: Kysely<HeraldTables>,
  projection: AnyProjection<E>,
  options: { readonly indexes?: boolean } = {},
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await projection.teardown(trx);
    await trx.deleteFrom("herald_checkpoints").where("projection", "=", projection.name).execute();
    await projection.setup(trx);
    if (options.indexes !== false) await projection.indexes?.(trx);
  });
}
