import { describe, expect, it } from "vitest";
import {
  type DeliveryAttempted,
  type DeliveryCommand,
  type DeliveryEvent,
  deliveryDecider,
  deliveryId,
  truncateUtf8,
} from "../../src/domain/delivery.js";
import type { AttemptResult } from "../../src/domain/retry-policy.js";
import { deciderSpec } from "../support/decider-spec.js";

const id = deliveryId("w1", "t1");
const transaction = { status: "SUCCESS", events: [] };
const given = deciderSpec(deliveryDecider);

const schedule = {
  type: "Schedule",
  data: {
    deliveryId: id,
    webhookId: "w1",
    transactionId: "t1",
    subscriptionIds: ["s1"],
    transaction,
    scheduledAt: 0,
  },
} satisfies DeliveryCommand;
const attempt = (result: AttemptResult, now = 1000): DeliveryCommand => ({
  type: "RecordAttempt",
  deliveryId: id,
  report: { result, url: "http://x/", startedAt: now - 10, durationMs: 10, responseBody: "ok" },
  retries: 2,
  schedule: { baseMs: 100, maxMs: 1000 },
  now,
  random: 0,
});
const pause = { type: "Pause", deliveryId: id, now: 5 } satisfies DeliveryCommand;
const resume = { type: "Resume", deliveryId: id, now: 9 } satisfies DeliveryCommand;
const cancel = { type: "Cancel", deliveryId: id, reason: "endpoint_deleted", now: 7 } satisfies DeliveryCommand;
const redeliver = {
  type: "Redeliver",
  deliveryId: id,
  webhookId: "w1",
  transaction,
  now: 50,
} satisfies DeliveryCommand;

const scheduled: DeliveryEvent = { type: "DeliveryScheduled", data: schedule.data };
/** What attempt() records, at 1000. */
const attempted = (
  attempt: number,
  outcome: Pick<DeliveryAttempted["data"], "status" | "errorClass" | "retryAfter">,
): DeliveryEvent => ({
  type: "DeliveryAttempted",
  data: { deliveryId: id, attempt, startedAt: 990, durationMs: 10, url: "http://x/", ...outcome, responseBody: "ok" },
});
const retryScheduled = (attempt: number, dueAt: number): DeliveryEvent => ({
  type: "DeliveryRetryScheduled",
  data: { deliveryId: id, attempt, dueAt },
});
const succeeded = (attempt: number): DeliveryEvent => ({
  type: "DeliverySucceeded",
  data: { deliveryId: id, attempt, at: 1000 },
});
const failed = (reason: "not_retryable" | "retries_exhausted", attempts: number): DeliveryEvent => ({
  type: "DeliveryFailed",
  data: { deliveryId: id, reason, attempts, at: 1000 },
});
const redelivered = (attempts: number): DeliveryEvent => ({
  type: "DeliveryRedeliveryRequested",
  data: { deliveryId: id, webhookId: "w1", transaction, attempts, dueAt: 50 },
});
const timeout = attempt({ kind: "error", errorClass: "timeout" });

/** Times out as often as the endpoint's 2 retries allow: the delivery fails, its retries exhausted. */
const exhaustRetries = () =>
  given(scheduled)
    .when(timeout)
    .thenDecides(attempted(1, { errorClass: "timeout" }), retryScheduled(2, 1100))
    .when(timeout)
    .thenDecides(attempted(2, { errorClass: "timeout" }), retryScheduled(3, 1200))
    .when(timeout)
    .thenDecides(attempted(3, { errorClass: "timeout" }), failed("retries_exhausted", 3));

describe("delivery aggregate", () => {
  it("derives the same id for the same endpoint and transaction, another for another", () => {
    expect(deliveryId("w1", "t1")).toBe(id);
    expect(deliveryId("w2", "t1")).not.toBe(id);
  });

  it("records every attempt and its outcome: retry, retry, success", () => {
    const done = given()
      .when(schedule)
      .thenDecides(scheduled)
      .when(attempt({ kind: "response", status: 503 }))
      .thenDecides(attempted(1, { status: 503 }), retryScheduled(2, 1100))
      .when(attempt({ kind: "response", status: 429, retryAfter: "1" }))
      .thenDecides(attempted(2, { status: 429, retryAfter: "1" }), retryScheduled(3, 2000))
      .when(attempt({ kind: "response", status: 200 }))
      .thenDecides(attempted(3, { status: 200 }), succeeded(3));
    expect(done.state).toEqual({ status: "succeeded", attempts: 3 });
  });

  it("fails with the reason and refuses attempts afterwards", () => {
    const done = given(scheduled)
      .when(attempt({ kind: "response", status: 400 }))
      .thenDecides(attempted(1, { status: 400 }), failed("not_retryable", 1))
      .when(attempt({ kind: "response", status: 200 }))
      .thenRefuses("CONFLICT", { message: "RecordAttempt: not pending (status failed)" });
    expect(done.state).toEqual({ status: "failed", attempts: 1 });
    exhaustRetries();
  });

  it("never schedules twice", () => {
    given(scheduled)
      .when(schedule)
      .thenRefuses("CONFLICT", { message: "Schedule: already scheduled (status pending)" });
  });

  it("pauses, resumes and cancels", () => {
    const paused = given(scheduled)
      .when(pause)
      .thenDecides({ type: "DeliveryPaused", data: { deliveryId: id, at: 5 } })
      .when(attempt({ kind: "response", status: 200 }))
      .thenRefuses("CONFLICT", { message: "RecordAttempt: not pending (status paused)" });
    expect(paused.state.status).toBe("paused");
    paused
      .when(pause)
      .thenRefuses("CONFLICT", { message: "Pause: not pending (status paused)" })
      .when(resume)
      .thenDecides({ type: "DeliveryResumed", data: { deliveryId: id, dueAt: 9 } })
      .when(resume)
      .thenRefuses("CONFLICT", { message: "Resume: not paused (status pending)" });
    paused
      .when(cancel)
      .thenDecides({ type: "DeliveryFailed", data: { deliveryId: id, reason: "endpoint_deleted", attempts: 0, at: 7 } })
      .when(cancel)
      .thenRefuses("CONFLICT", { message: "Cancel: nothing to cancel (status failed)" });
    given().when(cancel).thenRefuses("CONFLICT", { message: "Cancel: nothing to cancel (status none)" });
  });

  it("redelivers a failed delivery once: one more attempt, numbered after the last", () => {
    const failedOnce = given(scheduled, attempted(1, { status: 400 }), failed("not_retryable", 1));
    const done = failedOnce
      .when(redeliver)
      .thenDecides(redelivered(1))
      // Asked again while it is pending: nothing to do.
      .when(redeliver)
      .thenDecides()
      .when(attempt({ kind: "response", status: 200 }))
      .thenDecides(attempted(2, { status: 200 }), succeeded(2))
      .when(redeliver)
      .thenDecides();
    expect(done.state).toEqual({ status: "succeeded", attempts: 2 });
    // Within the endpoint's retries (2 here): a delivery that failed early keeps the rest of them,
    // one that exhausted them gets a single attempt.
    failedOnce
      .when(redeliver)
      .thenDecides(redelivered(1))
      .when(attempt({ kind: "response", status: 503 }))
      .thenDecides(attempted(2, { status: 503 }), retryScheduled(3, 1200));
    exhaustRetries()
      .when(redeliver)
      .thenDecides(redelivered(3))
      .when(timeout)
      .thenDecides(attempted(4, { errorClass: "timeout" }), failed("retries_exhausted", 4));
    // Never failed: nothing to take back.
    given(scheduled).when(redeliver).thenDecides();
    given().when(redeliver).thenDecides();
  });

  it("carries the body once in a redelivery: the published text alone when the command has both", () => {
    const text = ' {"status":"SUCCESS", "events":[]}';
    given(scheduled, attempted(1, { status: 400 }), failed("not_retryable", 1))
      .when({ ...redeliver, publishedText: text })
      .thenDecides({
        type: "DeliveryRedeliveryRequested",
        data: { deliveryId: id, webhookId: "w1", publishedText: text, attempts: 1, dueAt: 50 },
      });
  });

  it("keeps at most 4 KiB of a response body, never half a character", () => {
    const { decision } = given(scheduled).when({
      ...attempt({ kind: "response", status: 500 }),
      report: {
        result: { kind: "response", status: 500 },
        url: "u",
        startedAt: 0,
        durationMs: 1,
        responseBody: "é".repeat(3000),
      },
    } as DeliveryCommand);
    const [event] = decision.ok ? decision.events : [];
    const body = event?.type === "DeliveryAttempted" ? event.data.responseBody : undefined;
    // 2048 two-byte characters: 4096 bytes.
    expect(body).toBe("é".repeat(2048));
    expect(truncateUtf8("aé", 2)).toBe("a");
  });
});
