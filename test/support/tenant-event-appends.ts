import { randomUUID } from "node:crypto";
import { eventMetadata } from "../../src/adapters/eventstore/event-metadata.js";
import type { AppendRequest, EventStore, ReadFrom } from "../../src/adapters/eventstore/event-store.js";
import { comparePositions } from "../../src/adapters/eventstore/position.js";
import { type TenantEvent, type TenantEventReceived, tenantEventStream } from "../../src/domain/ingest-events.js";

/**
 * A tenant event as NATS ingest appends it, but received at a time of the caller's choosing: ingest
 * stamps the current time, and tests and benchmarks need events that arrived long ago.
 */
export function tenantEventAppend(event: TenantEvent, receivedAt: number): AppendRequest {
  const tenantEventId = randomUUID();
  const data: TenantEventReceived["data"] = { tenantEventId, event, source: "nats", receivedAt };
  return {
    stream: tenantEventStream(tenantEventId),
    expectedRevision: "no_stream",
    events: [
      { type: "TenantEventReceived", data, metadata: eventMetadata("system:ingest-nats", {}, new Date(receivedAt)) },
    ],
  };
}

/**
 * Appends `count` tenant events made by `make(index)`, all received at `receivedAt`, 1,000 to a
 * batch. Returns the last one's position.
 */
export async function appendTenantEvents(
  store: EventStore,
  count: number,
  receivedAt: number,
  make: (index: number) => TenantEvent,
  onProgress: (done: number) => void = () => {},
): Promise<ReadFrom> {
  let last: ReadFrom = "start";
  for (let done = 0; done < count; ) {
    const size = Math.min(1000, count - done);
    const outcomes = await store.appendMany(
      Array.from({ length: size }, (_, offset) => tenantEventAppend(make(done + offset), receivedAt)),
    );
    for (const outcome of outcomes) {
      if (!outcome.ok) throw new Error("a tenant event append was refused");
      if (comparePositions(outcome.result.position, last) > 0) last = outcome.result.position;
    }
    done += size;
    onProgress(done);
  }
  return last;
}
