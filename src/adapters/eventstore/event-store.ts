import type { HeraldEvent } from "../../domain/herald-event.js";

/**
 * The event store port. Every fact in herald is appended here; everything else is a projection.
 * Two adapters implement it: the PostgreSQL event log (default, also on PGlite) and EventStoreDB.
 * It is generic over the events it holds: herald's store holds HeraldEvents, written only through
 * that type, so what it reads back is typed the same (the adapters decode rows as such).
 */

/**
 * A global position. Ordering is lexicographic on (commit, prepare), as in EventStoreDB.
 * The PostgreSQL log maps commit to the writing transaction id and prepare to its sequence number.
 */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/** `"start"` reads from the very beginning; a Position is exclusive (events strictly after it). */
export type ReadFrom = Position | "start";

/** `"end"` reads back from the very end; a Position is exclusive (events strictly before it). */
export type ReadBefore = Position | "end";

export type ExpectedRevision = "any" | "no_stream" | "stream_exists" | bigint;

export interface EventMetadata {
  readonly correlationId: string;
  readonly causationId: string;
  /** Who caused it: an address, `system:<component>`, `tenant:<wallet>`, … */
  readonly actor: string;
  /** ISO-8601 time at which the fact happened. */
  readonly at: string;
}

/** What every event is: a type that names it and its data (JSON). */
export interface AnyEvent {
  readonly type: string;
  readonly data: unknown;
}

/**
 * The events of `E` with one of the types `T`: what a read filtered on those types returns. A store
 * of untyped events (`AnyEvent`, the adapters' tests) keeps them untyped.
 */
export type EventOfType<E extends AnyEvent, T extends string> = string extends E["type"]
  ? E
  : Extract<E, { readonly type: T }>;

/** An event to append. Over a union of events it is a union too, so a `switch` on `type` narrows `data`. */
export type NewEvent<E extends AnyEvent = HeraldEvent> = E & {
  /** Optional UUID; adapters generate one when absent. */
  readonly id?: string;
  readonly metadata: EventMetadata;
};

/** Where an event is in the log. */
export interface StoredEventPlace {
  readonly id: string;
  readonly stream: string;
  /** Revision within its stream, from 0. */
  readonly revision: bigint;
  readonly position: Position;
  readonly metadata: EventMetadata;
}

/** An event read back. Over a union of events it is a union too, so a `switch` on `type` narrows `data`. */
export type StoredEvent<E extends AnyEvent = HeraldEvent> = StoredEventPlace & E;

export interface AppendResult {
  /** The revision of the last event written. */
  readonly nextRevision: bigint;
  /** The position of the last event written. */
  readonly position: Position;
}

export interface AppendRequest<E extends AnyEvent = HeraldEvent> {
  readonly stream: string;
  readonly events: readonly NewEvent<E>[];
  readonly expectedRevision: ExpectedRevision;
}

/**
 * A fence: one stream whose revision a whole appendMany depends on (herald's `fence-subscriptions`,
 * which every subscription change moves on, so that scheduling at ingest cannot miss one).
 * - With `expectedRevision` (a check): nothing is written unless `stream` is at that revision, and no
 *   append that writes `stream` under a fence can commit between the check and this call's commit.
 *   A failed check throws FenceMovedError and writes nothing.
 * - Without (a write): this call appends to `stream` (one of its requests) and waits for the checks
 *   in flight; checks that start later wait for it.
 * PostgreSQL holds the fence with a lock taken before anything else in the append's transaction, so
 * the log's order agrees with the order of the decisions. EventStoreDB has no transaction across
 * streams: there a check is a read of the stream's revision before the appends, and the dispatch
 * auditor closes the window that leaves.
 */
export interface AppendFence {
  readonly stream: string;
  readonly expectedRevision?: ExpectedRevision;
}

export interface AppendManyOptions {
  readonly fence?: AppendFence;
}

export type AppendOutcome =
  | { readonly ok: true; readonly result: AppendResult }
  | { readonly ok: false; readonly error: WrongExpectedVersionError };

/** One request of a committed appendMany and what became of it (its outcome at the same index). */
export interface AppendedRequest<E extends AnyEvent = HeraldEvent> {
  readonly request: AppendRequest<E>;
  readonly outcome: AppendOutcome;
}

export interface EventFilter<T extends string = string> {
  /** Only these event types. */
  readonly eventTypes?: readonly T[];
  /** Only streams whose name starts with one of these. */
  readonly streamPrefixes?: readonly string[];
}

export interface ReadStreamOptions {
  readonly direction?: "forwards" | "backwards";
  /** Inclusive revision to start from (default: the first, or the last when backwards). */
  readonly fromRevision?: bigint;
  readonly maxCount?: number;
}

export interface ReadAllOptions<T extends string = string> {
  readonly filter?: EventFilter<T>;
  readonly maxCount?: number;
}

/**
 * What a filtered reader got from one look at the log: the events that passed its filter, and the
 * position it has looked up to, passed or not. Reading on from `position` neither skips nor repeats
 * an event, and a reader whose events are rare still moves on with the log instead of re-reading
 * its tail.
 */
export interface LogPage<E extends AnyEvent = HeraldEvent> {
  readonly events: StoredEvent<E>[];
  /** The last event looked at (the page's `from` when nothing new was visible). */
  readonly position: ReadFrom;
}

export interface ReadPageOptions<T extends string = string> extends ReadAllOptions<T> {
  /** The most events one page looks at (default 10 × maxCount, maxCount defaulting to 500). */
  readonly scanLimit?: number;
}

export interface Subscription<E extends AnyEvent = HeraldEvent> extends AsyncIterable<StoredEvent<E>> {
  /**
   * Waits until at least one event is available and returns up to `max` of them in order.
   * Rejects when the subscription is closed or fails for good.
   */
  nextBatch(max: number): Promise<StoredEvent<E>[]>;
  /**
   * Like nextBatch, but also returns when the subscription has only moved past events that its
   * filter leaves out (then `events` is empty and `position` is further on), so that its owner can
   * keep its checkpoint up with the log.
   */
  nextPage(max: number): Promise<LogPage<E>>;
  close(): Promise<void>;
}

/** readAll and readAllBackwards: a page of the events of the filter's types (all of `E` without a filter). */
export type ReadEvents<E extends AnyEvent, From> = <T extends E["type"] = E["type"]>(
  from: From,
  options?: ReadAllOptions<T>,
) => Promise<StoredEvent<EventOfType<E, T>>[]>;

/** A filtered read returns the events of the filter's types (all of `E` without a filter). */
export interface EventStore<E extends AnyEvent = HeraldEvent> {
  readonly kind: "postgres" | "esdb";
  /** Appends atomically to one stream, checking its revision first. */
  append<F extends E>(
    stream: string,
    events: readonly NewEvent<F>[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult>;
  /**
   * Appends to many streams in as few round trips as the backend allows. Each request succeeds or
   * fails on its own revision check; a failure never undoes the others.
   */
  appendMany<F extends E>(requests: readonly AppendRequest<F>[], options?: AppendManyOptions): Promise<AppendOutcome[]>;
  /** A missing stream reads as empty. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<StoredEvent<E>[]>;
  /**
   * One page of the global log after `from`, in position order. An event becomes visible here once
   * every append that started before it has ended, which may be a moment after its own append returned.
   */
  readonly readAll: ReadEvents<E, ReadFrom>;
  /**
   * Looks at up to `scanLimit` events after `from`, in position order and with readAll's
   * visibility, and returns the first `maxCount` of them that pass the filter with the position of
   * the last event looked at (the last one returned when it stopped there). Its cost is bounded by
   * `scanLimit` however few events pass the filter; readAll with a filter reads on until it has
   * `maxCount` matches or reaches the head.
   */
  readPage<T extends E["type"] = E["type"]>(
    from: ReadFrom,
    options?: ReadPageOptions<T>,
  ): Promise<LogPage<EventOfType<E, T>>>;
  /**
   * One page of the global log before `before`, newest first: the events readAll would show, in
   * reverse, so that a reader can take the recent end of a long log without reading the rest.
   */
  readonly readAllBackwards: ReadEvents<E, ReadBefore>;
  /** Catches up from `from` (exclusive), then stays live. */
  subscribeAll<T extends E["type"] = E["type"]>(
    from: ReadFrom,
    options?: { readonly filter?: EventFilter<T> },
  ): Subscription<EventOfType<E, T>>;
  /** The position of the newest event readers may see, or "start" when the log is empty. */
  headPosition(): Promise<ReadFrom>;
  /** Throws when the backend cannot be reached (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class WrongExpectedVersionError extends Error {
  readonly code = "WRONG_EXPECTED_VERSION";
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** The stream's actual last revision, or "no_stream". */
    readonly actual: bigint | "no_stream",
    options?: ErrorOptions,
  ) {
    super(`stream ${stream}: expected revision ${String(expected)}, actual ${String(actual)}`, options);
    this.name = "WrongExpectedVersionError";
  }
}

/** An appendMany's fence check failed: nothing was written. `actual` says how far the fence stream is. */
export class FenceMovedError extends Error {
  readonly code = "FENCE_MOVED";
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    /** The fence stream's last revision, or "no_stream". */
    readonly actual: bigint | "no_stream",
  ) {
    super(`fence ${stream}: expected revision ${String(expected)}, actual ${String(actual)}; nothing was appended`);
    this.name = "FenceMovedError";
  }
}

/**
 * `appendMany` could not finish: an append failed for a reason other than its revision check (the
 * server became unreachable, …). EventStoreDB has no transaction across streams, so appends that
 * succeeded stay written: `outcomes` says which (undefined: not attempted or unknown).
 */
export class AppendManyIncompleteError extends Error {
  readonly code = "APPEND_MANY_INCOMPLETE";
  constructor(
    readonly outcomes: readonly (AppendOutcome | undefined)[],
    options?: ErrorOptions,
  ) {
    super("appendMany stopped before every append was attempted", options);
    this.name = "AppendManyIncompleteError";
  }
}

export class EventStoreUnavailableError extends Error {
  readonly code = "EVENT_STORE_UNAVAILABLE";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EventStoreUnavailableError";
  }
}

export class SubscriptionClosedError extends Error {
  readonly code = "SUBSCRIPTION_CLOSED";
  constructor() {
    super("the subscription was closed");
    this.name = "SubscriptionClosedError";
  }
}
