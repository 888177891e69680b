import type { Position } from "../../adapters/eventstore/event-store.js";
import type { TenantEvent } from "../../domain/ingest-events.js";
import type { TenantScope, WaypointWait } from "../../domain/waypoint-matching.js";

/** A tenant event as the matcher holds it: where it is in the log and when herald received it. */
export interface SeenTenantEvent {
  readonly position: Position;
  readonly event: TenantEvent;
  /** What a match sends as `data:`: the event's text exactly as published. */
  readonly text: string;
  /** Milliseconds since the epoch, set at ingest. */
  readonly receivedAt: number;
  /** The index key it answers (waitKeyOfEvent); undefined: it answers no wait and is held for its group only. */
  readonly key: string | undefined;
}

/** One open SSE request, as the matcher sees it. */
export interface Waiter {
  readonly wait: WaypointWait;
  readonly scope: TenantScope;
  /** Replay from the recent window takes events received at or after this (ms); live events always count. */
  readonly notBefore: number;
  /** Called at most once, after the matcher has forgotten the waiter. */
  answer(match: SeenTenantEvent): void;
  /** herald is stopping: end the request; the matcher has already forgotten the waiter. */
  shutdown(): void;
}
