import type { Kysely, Transaction } from "kysely";
import type { HeraldTables } from "../adapters/db/schema.js";
import type { AnyEvent, StoredEvent } from "../adapters/eventstore/event-store.js";
import type { HeraldEvent } from "../domain/herald-event.js";

/**
 * A read model: the event types it handles and the rows it writes. Each projection owns its tables,
 * so a rebuild can drop them and replay from the first event. `E` is the union of the events it
 * handles: the runner hands it only events of its `eventTypes`.
 */
export interface Projection<E extends AnyEvent = HeraldEvent> {
  /** Unique, stable: the checkpoint's key. */
  readonly name: string;
  /** Bump when the tables or the handling change; the runner then rebuilds from the start. */
  readonly version: number;
  readonly eventTypes: readonly E["type"][];
  /** Creates the tables if they do not exist. */
  setup(db: Kysely<HeraldTables>): Promise<void>;
  /**
   * Optional: creates the secondary indexes (if they do not exist). Runs after setup, except in a
   * rebuild, which runs it after its last page: building an index once costs less than keeping it up
   * through every page.
   */
  indexes?(db: Kysely<HeraldTables>): Promise<void>;
  /** Drops the tables. */
  teardown(db: Kysely<HeraldTables>): Promise<void>;
  /**
   * Applies one event inside the batch's transaction; the checkpoint commits in the same one. A
   * batch handles its events one by one and then calls afterBatch, so a projection may gather them
   * and write in bulk there.
   */
  handle(trx: Transaction<HeraldTables>, event: StoredEvent<E>): Promise<void>;
  /**
   * Optional: runs after the batch's events were handled, before the checkpoint commits in the same
   * transaction. For side effects gathered over a batch (the dispatcher's appends): they happen at
   * least once, since a crash before the commit replays the batch, so they must be idempotent.
   */
  afterBatch?(trx: Transaction<HeraldTables>): Promise<void>;
}

/**
 * A projection of some of the log's events `E`, as runners hold them. A Projection<DeliveryEvent> is
 * one (handle is a method, so its event parameter is compared both ways): runners filter each batch
 * by the projection's eventTypes before handing it over, which is what makes that sound.
 */
export type AnyProjection<E extends AnyEvent = HeraldEvent> = Projection<E>;

/** Thrown by a handler's caller so the log says which event stopped the projection. */
export class ProjectionHandlerError extends Error {
  readonly code = "PROJECTION_HANDLER_FAILED";
  constructor(
    readonly projection: string,
    readonly event: Pick<StoredEvent<AnyEvent>, "type" | "stream" | "position">,
    options: ErrorOptions,
  ) {
    super(`projection ${projection} failed on ${event.type} in ${event.stream}`, options);
    this.name = "ProjectionHandlerError";
  }
}
