import type { AnyEvent, Position, StoredEvent } from "./event-store.js";

/** An event as a backend hands it back: its type a string, its data and metadata parsed JSON. */
export interface RecordedEvent {
  readonly id: string;
  readonly stream: string;
  readonly revision: bigint;
  readonly position: Position;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
}

/**
 * Where JSON leaves the database and becomes one of the store's events: the one place that takes
 * the log's word for it. The log is written only through `EventStore<E>.append`, so an event read
 * back has the type and data that were checked when it was written.
 */
export function recordedAs<E extends AnyEvent>(recorded: RecordedEvent): StoredEvent<E> {
  return recorded as StoredEvent<E>;
}
