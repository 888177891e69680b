import { describe, expect, it } from "vitest";
import {
  type DeliveryCommand,
  type DeliveryEvent,
  type DeliveryState,
  decide,
  deliveryId,
  evolve,
  initialDeliveryState,
  truncateUtf8,
} from "../../src/domain/delivery.js";
import type { AttemptResult } from "../../src/domain/retry-policy.js";

const id = deliveryId("w1", "t1");
const schedule = { baseMs: 100, maxMs: 1000 };

function run(commands: DeliveryCommand[]): { state: DeliveryState; events: DeliveryEvent[]; refused: string[] } {
  let state = initialDeliveryState;
  const events: DeliveryEvent[] = [];
  const refused: string[] = [];
  for (const command of commands) {
    const decision = decide(command, state);
    if (!decision.ok) {
      refused.push(decision.reason);
      continue;
    }
    events.push(...decision.events);
    state = decision.events.reduce(evolve, state);
  }
  return { state, events, refused };
}

const scheduleCommand: DeliveryCommand = {
  type: "Schedule",
  data: {
    deliveryId: id,
    webhookId: "w1",
    transactionId: "t1",
    subscriptionIds: ["s1"],
    transaction: { status: "SUCCESS", events: [] },
    scheduledAt: 0,
  },
};
const attempt = (result: AttemptResult, now = 1000): DeliveryCommand => ({
  type: "RecordAttempt",
  deliveryId: id,
  report: { result, url: "http://x/", startedAt: now - 10, durationMs: 10, responseBody: "ok" },
  retries: 2,
  schedule,
  now,
  random: 0,
});

describe("delivery aggregate", () => {
  it("derives the same id for the same endpoint and transaction, another for another", () => {
    expect(deliveryId("w1", "t1")).toBe(id);
    expect(deliveryId("w2", "t1")).not.toBe(id);
  });

  it("records every attempt and its outcome: retry, retry, success", () => {
    const { state, events } = run([
      scheduleCommand,
      attempt({ kind: "response", status: 503 }),
      attempt({ kind: "response", status: 429, retryAfter: "1" }),
      attempt({ kind: "response", status: 200 }),
    ]);
    expect(events.map((e) => e.type)).toEqual([
      "DeliveryScheduled",
      "DeliveryAttempted",
      "DeliveryRetryScheduled",
      "DeliveryAttempted",
      "DeliveryRetryScheduled",
      "DeliveryAttempted",
      "DeliverySucceeded",
    ]);
    expect(events[2]).toMatchObject({ data: { attempt: 2, dueAt: 1100 } });
    expect(events[4]).toMatchObject({ data: { attempt: 3, dueAt: 2000 } });
    expect(events[3]).toMatchObject({ data: { attempt: 2, status: 429, retryAfter: "1" } });
    expect(state).toEqual({ status: "succeeded", attempts: 3 });
  });

  it("fails with the reason and refuses attempts afterwards", () => {
    const { events, refused, state } = run([
      scheduleCommand,
      attempt({ kind: "response", status: 400 }),
      attempt({ kind: "response", status: 200 }),
    ]);
    expect(events.at(-1)).toMatchObject({ type: "DeliveryFailed", data: { reason: "not_retryable", attempts: 1 } });
    expect(refused).toHaveLength(1);
    expect(state.status).toBe("failed");
    const exhausted = run([scheduleCommand, ...[1, 2, 3].map(() => attempt({ kind: "error", errorClass: "timeout" }))]);
    expect(exhausted.events.at(-1)).toMatchObject({
      type: "DeliveryFailed",
      data: { reason: "retries_exhausted", attempts: 3 },
    });
  });

  it("never schedules twice", () => {
    expect(run([scheduleCommand, scheduleCommand]).refused).toHaveLength(1);
  });

  it("pauses, resumes and cancels", () => {
    const paused = run([
      scheduleCommand,
      { type: "Pause", deliveryId: id, now: 5 },
      attempt({ kind: "response", status: 200 }),
    ]);
    expect(paused.state.status).toBe("paused");
    expect(paused.refused).toHaveLength(1);
    const resumed = run([
      scheduleCommand,
      { type: "Pause", deliveryId: id, now: 5 },
      { type: "Resume", deliveryId: id, now: 9 },
    ]);
    expect(resumed.events.at(-1)).toEqual({ type: "DeliveryResumed", data: { deliveryId: id, dueAt: 9 } });
    const cancelled = run([
      scheduleCommand,
      { type: "Pause", deliveryId: id, now: 5 },
      { type: "Cancel", deliveryId: id, reason: "endpoint_deleted", now: 7 },
    ]);
    expect(cancelled.events.at(-1)).toMatchObject({ type: "DeliveryFailed", data: { reason: "endpoint_deleted" } });
  });

  it("redelivers a failed delivery once: one more attempt, numbered after the last", () => {
    const transaction = { status: "SUCCESS", events: [] };
    const redeliver: DeliveryCommand = { type: "Redeliver", deliveryId: id, webhookId: "w1", transaction, now: 50 };
    const failed = [scheduleCommand, attempt({ kind: "response", status: 400 })];
    const { events, refused, state } = run([
      ...failed,
      redeliver,
      redeliver,
      attempt({ kind: "response", status: 200 }),
    ]);
    expect(events.slice(3)).toEqual([
      {
        type: "DeliveryRedeliveryRequested",
        data: { deliveryId: id, webhookId: "w1", transaction, attempts: 1, dueAt: 50 },
      },
      expect.objectContaining({
        type: "DeliveryAttempted",
        data: expect.objectContaining({ attempt: 2, status: 200 }),
      }),
      expect.objectContaining({ type: "DeliverySucceeded" }),
    ]);
    // Asked again while it is pending: nothing to do.
    expect(refused).toHaveLength(1);
    expect(state).toEqual({ status: "succeeded", attempts: 2 });
    // Within the endpoint's retries (2 here): a delivery that failed early keeps the rest of them,
    // one that exhausted them gets a single attempt.
    const early = run([...failed, redeliver, attempt({ kind: "response", status: 503 })]);
    expect(early.events.at(-1)).toMatchObject({ type: "DeliveryRetryScheduled", data: { attempt: 3 } });
    const timeout = () => attempt({ kind: "error", errorClass: "timeout" });
    const exhausted = run([scheduleCommand, timeout(), timeout(), timeout(), redeliver, timeout()]);
    expect(exhausted.events.at(-1)).toMatchObject({
      type: "DeliveryFailed",
      data: { reason: "retries_exhausted", attempts: 4 },
    });
    expect(run([scheduleCommand, redeliver]).refused).toHaveLength(1);
  });

  it("keeps at most 4 KiB of a response body, never half a character", () => {
    const { events } = run([
      scheduleCommand,
      {
        ...attempt({ kind: "response", status: 500 }),
        report: {
          result: { kind: "response", status: 500 },
          url: "u",
          startedAt: 0,
          durationMs: 1,
          responseBody: "é".repeat(3000),
        },
      } as DeliveryCommand,
    ]);
    const body = (events[1]?.data as { responseBody: string }).responseBody;
    expect(Buffer.byteLength(body)).toBe(4096);
    expect(truncateUtf8("aé", 2)).toBe("a");
  });
});
