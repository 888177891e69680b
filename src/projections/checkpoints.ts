import { type Kysely, sql } from "kysely";
import type { HeraldTables } from "../adapters/db/schema.js";
import type { ReadFrom } from "../adapters/eventstore/event-store.js";
import { parsePosition, positionToJSON } from "../adapters/eventstore/position.js";

/** Where each projection is in the log: one row per projection in herald_checkpoints. */

export class CheckpointMovedError extends Error {
  readonly code = "CHECKPOINT_MOVED";
  constructor(projections: readonly string[]) {
    super(`the checkpoint of ${projections.join(", ")} was moved by another process; this process no longer leads it`);
    this.name = "CheckpointMovedError";
  }
}

export interface CheckpointMove {
  readonly projection: string;
  readonly from: ReadFrom;
  readonly to: ReadFrom;
}

export async function readCheckpoint(
  db: Kysely<HeraldTables>,
  projection: string,
): Promise<{ position: ReadFrom; version: number } | undefined> {
  return (await readCheckpoints(db, [projection])).get(projection);
}

export async function readCheckpoints(
  db: Kysely<HeraldTables>,
  projections: readonly string[],
): Promise<Map<string, { position: ReadFrom; version: number }>> {
  if (projections.length === 0) return new Map();
  const rows = await db
    .selectFrom("herald_checkpoints")
    .select(["projection", "position", "version"])
    .where("projection", "in", projections)
    .execute();
  return new Map(
    rows.map((row) => {
      const position = row.position === "start" ? "start" : parsePosition(row.position);
      if (!position) throw new Error(`checkpoint of ${row.projection} is corrupt: ${row.position}`);
      return [row.projection, { position, version: row.version }];
    }),
  );
}

/** Gives a projection a checkpoint row at the start when it has none, so that moves are always updates. */
export async function ensureCheckpoint(db: Kysely<HeraldTables>, projection: string, version: number): Promise<void> {
  await db
    .insertInto("herald_checkpoints")
    .values({ projection, position: "start", version, updated_at: new Date() })
    .onConflict((oc) => oc.column("projection").doNothing())
    .execute();
}

/**
 * Moves many checkpoints in one statement, all of them or none: each only from where this process
 * last put it (the Emmett way: a conditional update instead of locking the rows first), so a
 * process that lost the projections' lock without noticing cannot apply a batch twice: it throws,
 * and its transaction rolls back.
 */
export async function moveCheckpoints(db: Kysely<HeraldTables>, moves: readonly CheckpointMove[]): Promise<void> {
  if (moves.length === 0) return;
  // All or none: outside a transaction a partial move would stay.
  const result = await sql`
    with move as (
      select * from unnest(
        ${sql.val(moves.map((move) => move.projection))}::text[],
        ${sql.val(moves.map((move) => positionToJSON(move.from)))}::text[],
        ${sql.val(moves.map((move) => positionToJSON(move.to)))}::text[]
      ) as move(projection, expected, target)
    ), found as (
      select checkpoint.projection, move.target from herald_checkpoints as checkpoint
      join move on checkpoint.projection = move.projection and checkpoint.position = move.expected
    )
    update herald_checkpoints as checkpoint set position = found.target, updated_at = now()
    from found
    where checkpoint.projection = found.projection and (select count(*) from found) = ${moves.length}`.execute(db);
  if (result.numAffectedRows !== BigInt(moves.length))
    throw new CheckpointMovedError(moves.map((move) => move.projection));
}
