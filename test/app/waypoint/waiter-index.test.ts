import { describe, expect, it } from "vitest";
import { RecentTenantEvents } from "../../../src/app/waypoint/recent-tenant-events.js";
import type { SeenTenantEvent, Waiter } from "../../../src/app/waypoint/waiter.js";
import { WaiterIndex } from "../../../src/app/waypoint/waiter-index.js";
import type { TenantEvent } from "../../../src/domain/ingest-events.js";
import { type WaypointWait, waitKey, waitKeyOfEvent } from "../../../src/domain/waypoint-matching.js";

const waiterFor = (wait: Partial<WaypointWait> & { fieldId: string }): Waiter => ({
  wait: { walletId: "w", topic: "connections", field: "connection_id", desiredState: "completed", ...wait },
  scope: { kind: "tenant", walletId: wait.walletId ?? "w" },
  notBefore: 0,
  answer: () => {},
  shutdown: () => {},
});
const eventFor = (connectionId: string, extra: Record<string, unknown> = {}): TenantEvent => ({
  wallet_id: "w",
  topic: "connections",
  payload: { connection_id: connectionId, state: "completed", ...extra },
});

describe("WaiterIndex", () => {
  it("given many waiters, when an event arrives, then only the waiters on its values are candidates", () => {
    const index = new WaiterIndex();
    const waiters = Array.from({ length: 10_000 }, (_, i) => waiterFor({ fieldId: `c-${i}` }));
    for (const waiter of waiters) index.add(waiter);
    const byThread = waiterFor({ field: "thread_id", fieldId: "t-1" });
    index.add(byThread);
    const event = eventFor("c-42", { thread_id: "t-1" });
    expect(index.candidates(event, waitKeyOfEvent(event)!)).toEqual([waiters[42], byThread]);
    expect(index.size).toBe(10_001);
  });

  it("given waiters removed (twice, even), then the index is empty and answers nothing", () => {
    const index = new WaiterIndex();
    const waiter = waiterFor({ fieldId: "c-1" });
    index.add(waiter);
    expect(index.remove(waiter)).toBe(true);
    expect(index.remove(waiter)).toBe(false);
    expect(index.size).toBe(0);
    const event = eventFor("c-1");
    expect(index.candidates(event, waitKeyOfEvent(event)!)).toEqual([]);
  });

  it("drain hands back every waiter once and empties the index", () => {
    const index = new WaiterIndex();
    const waiters = [
      waiterFor({ fieldId: "a" }),
      waiterFor({ fieldId: "a" }),
      waiterFor({ walletId: "v", fieldId: "b" }),
    ];
    for (const waiter of waiters) index.add(waiter);
    expect(new Set(index.drain())).toEqual(new Set(waiters));
    expect(index.size).toBe(0);
  });
});

describe("RecentTenantEvents", () => {
  const seen = (connectionId: string, receivedAt: number): SeenTenantEvent => {
    const event = eventFor(connectionId);
    return {
      position: { commit: 1n, prepare: BigInt(receivedAt) },
      event,
      text: JSON.stringify(event),
      receivedAt,
      key: waitKeyOfEvent(event)!,
    };
  };
  const key = waitKeyOfEvent(eventFor("x"))!;

  it("given events older than the window, then they are evicted", () => {
    const window = new RecentTenantEvents(1000, 100);
    window.add(seen("a", 0), 0);
    window.add(seen("b", 500), 500);
    window.add(seen("c", 1600), 1600);
    expect(window.size).toBe(1);
    expect([...window.withKey(key, 0)].map((s) => s.event.payload.connection_id)).toEqual(["c"]);
  });

  it("given more events than the cap, then the oldest go first", () => {
    const window = new RecentTenantEvents(60_000, 2);
    for (const [i, id] of ["a", "b", "c"].entries()) window.add(seen(id, i), i);
    expect([...window.withKey(key, 0)].map((s) => s.event.payload.connection_id)).toEqual(["b", "c"]);
  });

  it("given a notBefore, then only events received since then are offered, oldest first (acapy-cloud's stream order)", () => {
    const window = new RecentTenantEvents(60_000, 100);
    for (const [i, id] of ["a", "b", "c"].entries()) window.add(seen(id, i * 10), i * 10);
    expect([...window.withKey(key, 10)].map((s) => s.event.payload.connection_id)).toEqual(["b", "c"]);
  });

  it("given events naming wallets' groups, then each wallet's group is the newest one held, forgotten with it", () => {
    const window = new RecentTenantEvents(1000, 100);
    const of = (walletId: string, groupId: string | undefined, receivedAt: number, state?: string): SeenTenantEvent => {
      const event: TenantEvent = {
        wallet_id: walletId,
        topic: "connections",
        ...(groupId ? { group_id: groupId } : {}),
        payload: state ? { state } : {},
      };
      return {
        position: { commit: 1n, prepare: BigInt(receivedAt) },
        event,
        text: JSON.stringify(event),
        receivedAt,
        key: waitKeyOfEvent(event),
      };
    };
    window.add(of("w1", "acme", 0), 0);
    window.add(of("w1", "globex", 100, "completed"), 100);
    // An event without a group leaves the wallet's group as it was.
    window.add(of("w1", undefined, 200, "completed"), 200);
    window.add(of("w2", "acme", 900), 900);
    expect([window.groupOf("w1"), window.groupOf("w2"), window.groupOf("w3")]).toEqual(["globex", "acme", undefined]);
    // Held for their group only, unkeyed events answer no wait.
    expect([...window.withKey(waitKey("w1", "connections", "completed"), 0)]).toHaveLength(2);
    window.evict(1150);
    expect([window.groupOf("w1"), window.groupOf("w2")]).toEqual([undefined, "acme"]);
  });

  it("given a zero window, then nothing is kept", () => {
    const window = new RecentTenantEvents(0, 100);
    window.add(seen("a", 0), 0);
    expect(window.size).toBe(0);
  });
});
