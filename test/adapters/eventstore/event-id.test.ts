import { describe, expect, it } from "vitest";
import { newEventId } from "../../../src/adapters/eventstore/event-id.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newEventId", () => {
  it("is a version 7 UUID that starts with the time in milliseconds", () => {
    const now = Date.UTC(2026, 10, 30, 18, 0, 0, 123);
    const id = newEventId(now);
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16)).toBe(now);
  });

  it("sorts by time: a later millisecond's id is greater, as text and as PostgreSQL orders uuids", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => newEventId(1_700_000_000_000 + i));
    expect([...ids].sort()).toEqual(ids);
  });

  it("differs within one millisecond", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newEventId(1_700_000_000_000)));
    expect(ids.size).toBe(10_000);
    for (const id of ids) expect(id).toMatch(UUID_V7);
  });
});
