import { describe, expect, it } from "vitest";
import type { AnyEvent, StoredEvent } from "../../src/adapters/eventstore/event-store.js";
import { eventsAsOf } from "../../src/app/entity-streams.js";

const event = (revision: number, at: string): StoredEvent<AnyEvent> => ({
  id: String(revision),
  stream: "endpoint-x",
  revision: BigInt(revision),
  position: { commit: 1n, prepare: BigInt(revision) },
  type: "T",
  data: {},
  metadata: { correlationId: "c", causationId: "c", actor: "a", at },
});

describe("eventsAsOf", () => {
  const events = [
    event(0, "2026-01-01T00:00:00.000Z"),
    event(1, "2026-01-02T00:00:00.000Z"),
    event(2, "2026-01-03T00:00:00.000Z"),
  ];

  it("keeps the events that happened at or before the time", () => {
    expect(eventsAsOf(events, Date.parse("2026-01-02T00:00:00.000Z")).map((e) => e.revision)).toEqual([0n, 1n]);
    expect(eventsAsOf(events, Date.parse("2025-12-31T00:00:00.000Z"))).toEqual([]);
    expect(eventsAsOf(events, undefined)).toBe(events);
  });

  it("stops at the first later event, so a clock that stepped back never skips a revision", () => {
    const skewed = [
      event(0, "2026-01-01T00:00:00.000Z"),
      event(1, "2026-01-05T00:00:00.000Z"),
      event(2, "2026-01-03T00:00:00.000Z"),
    ];
    expect(eventsAsOf(skewed, Date.parse("2026-01-04T00:00:00.000Z")).map((e) => e.revision)).toEqual([0n]);
  });
});
