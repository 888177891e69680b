import { afterEach, describe, expect, it, vi } from "vitest";
import type { AnyEvent, StoredEvent } from "../../../src/adapters/eventstore/event-store.js";
import { LiveSubscription } from "../../../src/adapters/eventstore/live-subscription.js";
import { AppendSignal } from "../../../src/adapters/eventstore/postgres-event-store.js";

const event = (prepare: bigint): StoredEvent<AnyEvent> => ({
  id: `e-${prepare}`,
  stream: "s",
  revision: 0n,
  position: { commit: 1n, prepare },
  type: "T",
  data: {},
  metadata: { correlationId: "c", causationId: "c", actor: "test", at: new Date(0).toISOString() },
});

describe("LiveSubscription wake-ups", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("given a quiet log polled slowly, when an append commits while a poll's read is under way, then the subscription reads it at once, not a poll later", async () => {
    // On a fake clock: the gap between the commit and the read that brings it is the subscription's
    // own doing, whatever the machine's load.
    vi.useFakeTimers();
    const signal = new AppendSignal();
    const log: StoredEvent<AnyEvent>[] = [];
    let commitDuringNextRead = false;
    let committedAt = 0;
    let readItAt = 0;
    const subscription = new LiveSubscription(
      "start",
      async () => {
        const visible = [...log];
        if (visible.length > 0 && readItAt === 0) readItAt = Date.now();
        if (commitDuringNextRead) {
          // The append commits and notifies after this read took its snapshot.
          commitDuringNextRead = false;
          log.push(event(1n));
          committedAt = Date.now();
          signal.notify();
        }
        return { events: visible, position: visible.at(-1)?.position ?? "start" };
      },
      signal,
    );
    const pending = subscription.nextBatch(10);
    // Long enough for the empty-read backoff to reach the idle poll (1 s).
    await vi.advanceTimersByTimeAsync(1500);
    commitDuringNextRead = true;
    await vi.advanceTimersByTimeAsync(2000);
    const batch = await pending;
    expect(batch.map((stored) => stored.id)).toEqual(["e-1"]);
    expect(committedAt).toBeGreaterThan(0);
    expect(readItAt - committedAt).toBeLessThan(100);
    await subscription.close();
  });
});
