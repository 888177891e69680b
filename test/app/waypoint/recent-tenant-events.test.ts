import { describe, expect, it } from "vitest";
import { RecentTenantEvents } from "../../../src/app/waypoint/recent-tenant-events.js";
import type { SeenTenantEvent } from "../../../src/app/waypoint/waiter.js";
import { waitKeyOfEvent } from "../../../src/domain/waypoint-matching.js";

const KEY_EVENT = { wallet_id: "w1", topic: "connections", payload: { state: "completed" } };

/** An event at position (commit, 0) received at `receivedAt`; `group` makes it name the wallet's group. */
function seen(commit: number, receivedAt: number, group?: string): SeenTenantEvent {
  const event = { ...KEY_EVENT, ...(group ? { group_id: group } : {}), payload: { ...KEY_EVENT.payload, n: commit } };
  return {
    position: { commit: BigInt(commit), prepare: 0n },
    event,
    text: JSON.stringify(event),
    receivedAt,
    key: waitKeyOfEvent(event),
  };
}

const commits = (window: RecentTenantEvents, key: string, notBefore = 0) =>
  [...window.withKey(key, notBefore)].map((held) => Number(held.position.commit));

describe("RecentTenantEvents", () => {
  const key = waitKeyOfEvent(KEY_EVENT)!;

  it("holds events in position order whatever order they come in, and evicts the oldest by position first", () => {
    const window = new RecentTenantEvents(60_000, 3);
    for (const event of [seen(2, 1000), seen(5, 1000), seen(1, 1000), seen(4, 1000), seen(3, 1000)])
      window.add(event, 1000);
    // At most three: the two with the earliest positions went, though they came second and third.
    expect(commits(window, key)).toEqual([3, 4, 5]);
    expect(window.size).toBe(3);

    window.add(seen(6, 2000), 2000);
    window.add(seen(7, 70_000), 70_000);
    // Older than the window (received at 1000 and 2000, now 70,000 with a 60 s window).
    expect(commits(window, key)).toEqual([7]);
  });

  it("knows a wallet's group from its newest event by position, not from the one that came last", () => {
    const window = new RecentTenantEvents(60_000, 10);
    window.add(seen(5, 1000, "newer"), 1000);
    window.add(seen(3, 1000, "older"), 1000);
    expect(window.groupOf("w1")).toBe("newer");
  });
});
