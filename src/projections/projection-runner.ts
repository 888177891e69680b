import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../adapters/db/database.js";
import type { CoreTables } from "../adapters/db/schema.js";
import type { EventStore, LogPage, Position, ReadFrom, StoredEvent, Subscription } from "../adapters/eventstore/event-store.js";
import { comparePositions, parsePosition, positionToJSON } from "../adapters/eventstore/position.js";
import { type AnyProjection, ProjectionHandlerError } from "./projection.js";

export interface ProjectionRunnerOptions {
  readonly database: Database;
  readonly store: EventStore;
  readonly projection: AnyProjection;
  readonly logger: Logger;
  readonly batchSize?: number;
  /** How often a standby process tries to take over the projection. */
  readonly standbyRetryMs?: number;
}

/**
 * How long a checkpoint may trail the position a projection has read past without applying
 * anything (events it does not handle). Writing it on every such page would cost a write per
 * append; a crash re-reads at most this much of the log, never skips any of it.
 */
const PASSED_CHECKPOINT_EVERY_MS = 1000;

export type ProjectionState = "starting" | "standby" | "running" | "retrying" | "stopped";

export class ProjectionTimeoutError extends Error {
  readonly code = "PROJECTION_TIMEOUT";
  constructor(projection: string, position: ReadFrom, timeoutMs: number) {
    super(`projection ${projection} did not reach ${positionToJSON(position)} within ${timeoutMs} ms`);
    this.name = "ProjectionTimeoutError";
  }
}

/**
 * Feeds one projection from its checkpoint. Only one process runs a projection at a time (a
 * database lock); the others wait in standby and take over from the checkpoint when the holder dies.
 * Each batch and its checkpoint commit in one transaction, so a crash neither loses nor repeats an
 * event. The checkpoint also moves over the events the projection does not handle (at most every
 * PASSED_CHECKPOINT_EVERY_MS), so no read, now or after a restart, re-scans a long tail of them. A
 * failing handler halts the projection at that event (logged with type and position) and retries
 * it with backoff; the event is never skipped.
 */
export class ProjectionRunner {
  readonly name: string;
  readonly eventTypes: readonly string[];
  #state: ProjectionState = "starting";
  #position: ReadFrom = "start";
  /** The checkpoint as stored, and when this process stored it. */
  #stored: ReadFrom = "start";
  #storedAt = 0;
  #subscription: Subscription | undefined;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #release: (() => Promise<void>) | undefined;
  #waiters = new Set<{ position: ReadFrom; resolve: () => void }>();
  #lockLost = false;

  constructor(private readonly options: ProjectionRunnerOptions) {
    this.name = options.projection.name;
    this.eventTypes = options.projection.eventTypes;
  }

  get state(): ProjectionState {
    return this.#state;
  }

  /** The position this process has applied or read past (only meaningful while running). */
  get position(): ReadFrom {
    return this.#position;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#subscription?.close();
    await this.#loop;
    await this.#release?.();
    this.#release = undefined;
    this.#state = "stopped";
  }

  /**
   * Resolves once the projection has applied the event at `position` (read-your-writes). Works in
   * any process: a standby reads the leader's checkpoint, which reaches the position of an event the
   * projection does not handle only up to PASSED_CHECKPOINT_EVERY_MS later.
   */
  async waitFor(position: ReadFrom, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (comparePositions(this.#position, position) >= 0) return;
      if (this.#state !== "running") {
        const stored = await readCheckpoint(this.options.database.db, this.name);
        if (stored && comparePositions(stored.position, position) >= 0) return;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new ProjectionTimeoutError(this.name, position, timeoutMs);
      await new Promise<void>((resolve) => {
        const waiter = { position, resolve: () => done() };
        const timer = setTimeout(() => done(), Math.min(left, this.#state === "running" ? left : 25));
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        };
        this.#waiters.add(waiter);
      });
    }
  }

  async #run(): Promise<void> {
    const { database, logger } = this.options;
    while (!this.#stopping) {
      this.#lockLost = false;
      const release = await database.tryLock(`projection:${this.name}`, () => {
        this.#lockLost = true;
        void this.#subscription?.close();
      }).catch((error: unknown) => {
        logger.warn({ err: error, projection: this.name }, "projection lock unavailable");
        return undefined;
      });
      if (!release) {
        this.#state = "standby";
        await sleep(this.options.standbyRetryMs ?? 2000);
        continue;
      }
      this.#release = release;
      try {
        await this.#lead();
      } catch (error) {
        if (!this.#stopping) logger.error({ err: error, projection: this.name }, "projection runner stopped unexpectedly");
      } finally {
        await release().catch(() => {});
        this.#release = undefined;
      }
      if (!this.#stopping) await sleep(500);
    }
  }

  /** Runs while this process holds the projection's lock. */
  async #lead(): Promise<void> {
    const { database, store, projection, logger } = this.options;
    const db = database.db;
    await prepareTables(db, projection, logger);
    const checkpoint = await readCheckpoint(db, this.name);
    this.#position = this.#stored = checkpoint?.position ?? "start";
    this.#storedAt = Date.now();
    this.#state = "running";
    logger.info({ projection: this.name, from: positionToJSON(this.#position) }, "projection running");
    const subscription = store.subscribeAll(this.#position, { filter: { eventTypes: projection.eventTypes } });
    this.#subscription = subscription;
    try {
      await this.#follow(subscription);
    } finally {
      await subscription.close();
    }
  }

  async #follow(subscription: Subscription): Promise<void> {
    const { logger } = this.options;
    let backoff = 100;
    let pending: LogPage | undefined;
    let next: Promise<LogPage> | undefined;
    while (!this.#stopping && !this.#lockLost) {
      if (!pending) {
        next ??= subscription.nextPage(this.options.batchSize ?? 500);
        try {
          pending = await this.#untilPageOrCheckpointDue(next);
        } catch (error) {
          if (this.#stopping || this.#lockLost) break;
          throw error;
        }
        if (pending) next = undefined;
      }
      try {
        // No page: the checkpoint is due to catch up with what was read past.
        if (pending) await this.#applyPage(pending);
        else await this.#storePassed();
        pending = undefined;
        backoff = 100;
        this.#state = "running";
      } catch (error) {
        if (this.#stopping || this.#lockLost) break;
        const failed = error instanceof ProjectionHandlerError ? error.event : pending?.events[0];
        this.#state = "retrying";
        logger.error(
          { err: error, projection: this.name, eventType: failed?.type, stream: failed?.stream, position: failed ? positionToJSON(failed.position) : undefined },
          "projection halted on an event; retrying it",
        );
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
    next?.catch(() => {});
    if (this.#stopping && !this.#lockLost) {
      await this.#storePassed().catch((error: unknown) => logger.warn({ err: error, projection: this.name }, "could not store the checkpoint at stop"));
    }
  }

  /** The next page, or undefined when the checkpoint trails what was read past and is due first. */
  async #untilPageOrCheckpointDue(next: Promise<LogPage>): Promise<LogPage | undefined> {
    if (comparePositions(this.#position, this.#stored) === 0) return next;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const due = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, this.#storedAt + PASSED_CHECKPOINT_EVERY_MS - Date.now()));
    });
    try {
      return await Promise.race([next, due]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #applyPage(page: LogPage): Promise<void> {
    if (page.events.length > 0) {
      await applyBatch(this.options.database.db, this.options.projection, this.#stored, page.events, page.position);
      this.#stored = page.position;
      this.#storedAt = Date.now();
    }
    this.#position = page.position;
    if (Date.now() - this.#storedAt >= PASSED_CHECKPOINT_EVERY_MS) await this.#storePassed();
    for (const waiter of this.#waiters) {
      if (comparePositions(this.#position, waiter.position) >= 0) waiter.resolve();
    }
  }

  /** Stores the position read past when the checkpoint trails it. */
  async #storePassed(): Promise<void> {
    const position = this.#position;
    if (comparePositions(position, this.#stored) === 0) return;
    await moveCheckpoint(this.options.database.db, this.options.projection, this.#stored, position);
    this.#stored = position;
    this.#storedAt = Date.now();
  }
}

export class CheckpointMovedError extends Error {
  readonly code = "CHECKPOINT_MOVED";
  constructor(projection: string) {
    super(`the checkpoint of ${projection} was moved by another process; this process no longer leads it`);
    this.name = "CheckpointMovedError";
  }
}

/**
 * Applies a batch and moves the checkpoint from `from` to `to` (default: the batch's last position)
 * in one transaction. The checkpoint row is locked and compared first, so a process that lost the
 * projection's lock without noticing cannot apply a batch twice.
 */
export async function applyBatch(
  db: Kysely<CoreTables>,
  projection: AnyProjection,
  from: ReadFrom,
  events: readonly StoredEvent[],
  to?: ReadFrom,
): Promise<void> {
  const last = events.at(-1);
  if (!last) return;
  await db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom("herald_checkpoints")
      .select("position")
      .where("projection", "=", projection.name)
      .forUpdate()
      .executeTakeFirst();
    if ((current?.position ?? "start") !== positionToJSON(from)) throw new CheckpointMovedError(projection.name);
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
    await writeCheckpoint(trx, projection.name, projection.version, to ?? last.position);
  });
}

/**
 * Moves the checkpoint from `from` to `to` over events the projection does not handle: one
 * statement, conditional on `from` as applyBatch's lock is.
 */
async function moveCheckpoint(db: Kysely<CoreTables>, projection: AnyProjection, from: ReadFrom, to: ReadFrom): Promise<void> {
  const values = { position: positionToJSON(to), updated_at: new Date() };
  const moved =
    from === "start"
      ? await db
          .insertInto("herald_checkpoints")
          .values({ projection: projection.name, version: projection.version, ...values })
          .onConflict((oc) => oc.column("projection").doUpdateSet(values).where("herald_checkpoints.position", "=", "start"))
          .executeTakeFirst()
      : await db
          .updateTable("herald_checkpoints")
          .set(values)
          .where("projection", "=", projection.name)
          .where("position", "=", positionToJSON(from))
          .executeTakeFirst();
  const rows = "numInsertedOrUpdatedRows" in moved ? moved.numInsertedOrUpdatedRows : moved.numUpdatedRows;
  if (rows !== 1n) throw new CheckpointMovedError(projection.name);
}

export interface RebuildOptions {
  readonly database: Database;
  readonly store: EventStore;
  readonly projection: AnyProjection;
  readonly batchSize?: number;
  /** Called after each batch with the number of events applied so far and the last position. */
  readonly onProgress?: (applied: number, position: Position) => void;
}

/**
 * Drops the projection's tables and replays it from the first event up to the store's head, under
 * the projection's lock so that no running process applies events at the same time.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<{ events: number; ms: number }> {
  const { database, store, projection } = options;
  const release = await database.tryLock(`projection:${projection.name}`, () => {});
  if (!release) {
    throw new Error(`projection ${projection.name} is being run by a herald process; stop it before a rebuild`);
  }
  const started = performance.now();
  let applied = 0;
  try {
    await resetProjection(database.db, projection);
    let position: ReadFrom = "start";
    for (;;) {
      const events = await store.readAll(position, {
        filter: { eventTypes: projection.eventTypes },
        maxCount: options.batchSize ?? 1000,
      });
      const last = events.at(-1);
      if (!last) break;
      await applyBatch(database.db, projection, position, events);
      position = last.position;
      applied += events.length;
      options.onProgress?.(applied, position);
    }
  } finally {
    await release();
  }
  return { events: applied, ms: performance.now() - started };
}

/** Creates the projection's tables, rebuilding them first when the stored version is older. */
async function prepareTables(db: Kysely<CoreTables>, projection: AnyProjection, logger: Logger): Promise<void> {
  const checkpoint = await readCheckpoint(db, projection.name);
  if (checkpoint && checkpoint.version !== projection.version) {
    logger.warn({ projection: projection.name, from: checkpoint.version, to: projection.version }, "projection version changed; rebuilding");
    await resetProjection(db, projection);
    return;
  }
  await projection.setup(db);
}

/** Drops a projection's tables and checkpoint and creates the tables empty. */
export async function resetProjection(db: Kysely<CoreTables>, projection: AnyProjection): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await projection.teardown(trx);
    await trx.deleteFrom("herald_checkpoints").where("projection", "=", projection.name).execute();
    await projection.setup(trx);
  });
}

export async function readCheckpoint(
  db: Kysely<CoreTables>,
  projection: string,
): Promise<{ position: ReadFrom; version: number } | undefined> {
  const row = await db
    .selectFrom("herald_checkpoints")
    .select(["position", "version"])
    .where("projection", "=", projection)
    .executeTakeFirst();
  if (!row) return undefined;
  const position = row.position === "start" ? "start" : parsePosition(row.position);
  if (!position) throw new Error(`checkpoint of ${projection} is corrupt: ${row.position}`);
  return { position, version: row.version };
}

async function writeCheckpoint(db: Kysely<CoreTables>, projection: string, version: number, position: ReadFrom) {
  const text = positionToJSON(position);
  await db
    .insertInto("herald_checkpoints")
    .values({ projection, position: text, version, updated_at: new Date() })
    .onConflict((oc) => oc.column("projection").doUpdateSet({ position: text, version, updated_at: new Date() }))
    .execute();
}
