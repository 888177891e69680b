import {
  type AppendExpectedRevision,
  END,
  type EventType,
  eventTypeFilter,
  excludeSystemEvents,
  type Filter,
  type JSONType,
  jsonEvent,
  type ReadPosition,
  type RecordedEvent,
  START,
  streamNameFilter,
} from "@eventstore/db-client";
import type { AnyEvent, EventFilter, ExpectedRevision, NewEvent, ReadFrom } from "./event-store.js";
import type { RecordedEvent as HeraldRecordedEvent } from "./recorded-event.js";

/** Translations between the port's types and @eventstore/db-client's. */

export function toEsdbRevision(expected: ExpectedRevision): AppendExpectedRevision {
  // The port's names are the client's constants ("any", "no_stream", "stream_exists") or a bigint.
  return expected;
}

export function toEsdbEvent(event: NewEvent<AnyEvent>) {
  return jsonEvent({
    ...(event.id === undefined ? {} : { id: event.id }),
    type: event.type,
    // The port's data is any JSON value the caller chose; the client types it as JSONType.
    data: event.data as JSONType,
    metadata: event.metadata as unknown as JSONType,
  });
}

export function toReadPosition(from: ReadFrom | "end"): ReadPosition {
  if (from === "start") return START;
  if (from === "end") return END;
  return { commit: from.commit, prepare: from.prepare };
}

export class MissingPositionError extends Error {
  readonly code = "ESDB_MISSING_POSITION";
  constructor(stream: string, revision: bigint) {
    super(`EventStoreDB returned ${stream}@${revision} without a global position`);
    this.name = "MissingPositionError";
  }
}

/** The server's event as the port's, still untyped: system events and filtered ones are left out later. */
export function toRecordedEvent(event: RecordedEvent<EventType>): HeraldRecordedEvent {
  if (!event.position) throw new MissingPositionError(event.streamId, event.revision);
  return {
    id: event.id,
    stream: event.streamId,
    revision: event.revision,
    position: { commit: event.position.commit, prepare: event.position.prepare },
    type: event.type,
    data: event.data,
    metadata: event.metadata,
  };
}

/**
 * The server-side filter for a subscription. The server filters on one thing only (stream name
 * or event type), so with both in the port's filter the stream prefixes go to the server and the
 * types are checked here; event types go as prefixes of themselves, which can over-match
 * ("Paid" also matches "PaidOut"). Either way the caller re-checks every event with
 * `matchesFilter`. Without a filter the server still leaves out system events. `checkpointReached`
 * hears the server's checkpoints: how far it has looked, passed or not.
 */
export function toServerFilter(
  filter: EventFilter | undefined,
  checkpointReached?: Filter["checkpointReached"],
): Filter {
  const checkpoints = checkpointReached ? { checkpointReached } : {};
  if (filter?.streamPrefixes && filter.streamPrefixes.length > 0) {
    return streamNameFilter({ prefixes: [...filter.streamPrefixes], ...checkpoints });
  }
  if (filter?.eventTypes && filter.eventTypes.length > 0) {
    return eventTypeFilter({ prefixes: [...filter.eventTypes], ...checkpoints });
  }
  return excludeSystemEvents(checkpoints);
}
