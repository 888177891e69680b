import type { EventFilter } from "./event-store.js";

/**
 * EventStoreDB writes events of its own into `$all` (statistics, stream metadata, links, …): their
 * stream names or event types start with `$`. herald never shows them to readers.
 */
export function isSystemEvent(stream: string, type: string): boolean {
  return stream.startsWith("$") || type.startsWith("$");
}

/**
 * The filter as the port defines it: exact event types, and stream-name prefixes; both must match
 * when both are given, and an empty list matches nothing.
 */
export function matchesFilter(filter: EventFilter | undefined, stream: string, type: string): boolean {
  if (filter?.eventTypes && !filter.eventTypes.includes(type)) return false;
  if (filter?.streamPrefixes && !filter.streamPrefixes.some((prefix) => stream.startsWith(prefix))) return false;
  return true;
}
