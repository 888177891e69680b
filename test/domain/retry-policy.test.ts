import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AttemptResult,
  decideRetry,
  isRetryableStatus,
  parseRetryAfter,
  RETRY_AFTER_CEILING_MS,
  scheduledDelayMs,
} from "../../src/domain/retry-policy.js";

const schedule = { baseMs: 5000, maxMs: 21_600_000 };
const now = Date.UTC(2025, 0, 1);
const base = { attempt: 1, retries: 5, now, schedule, random: 0 };
const response = (status: number, retryAfter?: string): AttemptResult => ({
  kind: "response",
  status,
  ...(retryAfter === undefined ? {} : { retryAfter }),
});

describe("retry policy: the seed's table", () => {
  it("delivers on 2xx", () => {
    for (const status of [200, 201, 204, 299])
      expect(decideRetry({ ...base, result: response(status) })).toEqual({ kind: "delivered" });
  });

  it("retries 409, 429, 5xx, timeouts and connection errors", () => {
    const results: AttemptResult[] = [409, 429, 500, 502, 503, 599].map((status) => response(status));
    results.push({ kind: "error", errorClass: "timeout" }, { kind: "error", errorClass: "connection" });
    for (const result of results)
      expect(decideRetry({ ...base, result })).toMatchObject({ kind: "retry", delayMs: 5000, dueAt: now + 5000 });
  });

  it("fails 1xx, 3xx and every other 4xx without retrying", () => {
    for (const status of [100, 101, 301, 302, 304, 400, 401, 403, 404, 410, 422, 428, 431]) {
      expect(decideRetry({ ...base, result: response(status) })).toEqual({ kind: "give_up", reason: "not_retryable" });
    }
  });

  it("doubles the wait from the base and caps it at the max", () => {
    expect([1, 2, 3, 4].map((n) => scheduledDelayMs(n, { baseMs: 100, maxMs: 500 }))).toEqual([100, 200, 400, 500]);
    expect(scheduledDelayMs(5000, schedule)).toBe(schedule.maxMs);
  });

  it("stops after retries + 1 attempts", () => {
    expect(decideRetry({ ...base, retries: 2, attempt: 2, result: response(503) }).kind).toBe("retry");
    expect(decideRetry({ ...base, retries: 2, attempt: 3, result: response(503) })).toEqual({
      kind: "give_up",
      reason: "retries_exhausted",
    });
    expect(decideRetry({ ...base, retries: 0, attempt: 1, result: response(503) })).toEqual({
      kind: "give_up",
      reason: "retries_exhausted",
    });
  });

  it("waits the longer of Retry-After and the schedule", () => {
    expect(decideRetry({ ...base, result: response(429, "30") })).toMatchObject({ delayMs: 30_000 });
    expect(decideRetry({ ...base, result: response(429, "1") })).toMatchObject({ delayMs: 5000 });
    const date = new Date(now + 60_000).toUTCString();
    expect(decideRetry({ ...base, result: response(503, date) })).toMatchObject({ delayMs: 60_000 });
  });

  it("gives up on a negative Retry-After and ignores one it cannot parse", () => {
    expect(decideRetry({ ...base, result: response(429, "-1") })).toEqual({
      kind: "give_up",
      reason: "negative_retry_after",
    });
    expect(decideRetry({ ...base, result: response(503, "soon") })).toMatchObject({ kind: "retry", delayMs: 5000 });
    expect(parseRetryAfter("1e3", now)).toEqual({ kind: "absent" });
    expect(parseRetryAfter("", now)).toEqual({ kind: "absent" });
    expect(parseRetryAfter(new Date(now - 5000).toUTCString(), now)).toEqual({ kind: "wait", ms: 0 });
    expect(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now)).toEqual({ kind: "wait", ms: 0 });
  });

  it("adds at most 10% jitter, never subtracts", () => {
    expect(decideRetry({ ...base, random: 0.999999, result: response(503) })).toMatchObject({ delayMs: 5499 });
  });
});

describe("retry policy: properties", () => {
  const status = fc.integer({ min: 100, max: 599 });
  const retryAfter = fc.option(
    fc.oneof(
      fc.integer({ min: -1_000_000, max: 10_000_000 }).map(String),
      fc.integer({ min: -3_600_000, max: 86_400_000 }).map((offset) => new Date(now + offset).toUTCString()),
      fc.string(),
    ),
    { nil: undefined },
  );
  const result: fc.Arbitrary<AttemptResult> = fc.oneof(
    fc
      .record({ kind: fc.constant("response" as const), status, retryAfter })
      .map(({ retryAfter: ra, ...rest }) => (ra === undefined ? rest : { ...rest, retryAfter: ra })),
    fc.record({
      kind: fc.constant("error" as const),
      errorClass: fc.constantFrom("timeout" as const, "connection" as const, "forbidden_address" as const),
    }),
  );
  const scheduleArb = fc
    .integer({ min: 1, max: 1_000_000 })
    .chain((baseMs) =>
      fc.record({ baseMs: fc.constant(baseMs), maxMs: fc.integer({ min: baseMs, max: 100_000_000 }) }),
    );
  const input = fc.record({
    result,
    attempt: fc.integer({ min: 1, max: 40 }),
    retries: fc.integer({ min: 0, max: 20 }),
    now: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    schedule: scheduleArb,
    random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  });

  it("never schedules a retry earlier than the schedule or than a Retry-After", () => {
    fc.assert(
      fc.property(input, (i) => {
        const decision = decideRetry(i);
        if (decision.kind !== "retry") return;
        const scheduled = scheduledDelayMs(i.attempt, i.schedule);
        expect(decision.delayMs).toBeGreaterThanOrEqual(scheduled);
        expect(decision.delayMs).toBeLessThanOrEqual(Math.max(scheduled * 1.1, RETRY_AFTER_CEILING_MS));
        expect(decision.dueAt).toBe(i.now + decision.delayMs);
        if (i.result.kind === "response") {
          const after = parseRetryAfter(i.result.retryAfter, i.now);
          if (after.kind === "wait") expect(decision.delayMs).toBeGreaterThanOrEqual(after.ms);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("never allows more than retries + 1 attempts, whatever the endpoint answers", () => {
    fc.assert(
      fc.property(
        fc.array(result, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 20 }),
        scheduleArb,
        (results, retries, sched) => {
          let attempts = 0;
          for (const r of results) {
            attempts++;
            const decision = decideRetry({ result: r, attempt: attempts, retries, now, schedule: sched, random: 0.5 });
            if (decision.kind !== "retry") break;
          }
          expect(attempts).toBeLessThanOrEqual(retries + 1);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("always stops on a negative Retry-After", () => {
    fc.assert(
      fc.property(
        input,
        fc.constantFrom(409, 429, 500, 503, 599),
        fc.integer({ min: -1_000_000_000, max: -1 }),
        fc.boolean(),
        (i, retryable, seconds, decimal) => {
          const value = decimal ? `${seconds}.5` : String(seconds);
          const decision = decideRetry({ ...i, result: { kind: "response", status: retryable, retryAfter: value } });
          expect(decision).toEqual({ kind: "give_up", reason: "negative_retry_after" });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("classifies every status as delivered, retryable or final, as the seed says", () => {
    fc.assert(
      fc.property(status, (s) => {
        const decision = decideRetry({ ...base, result: response(s) });
        if (s >= 200 && s < 300) expect(decision.kind).toBe("delivered");
        else if (isRetryableStatus(s)) expect(decision.kind).toBe("retry");
        else expect(decision).toEqual({ kind: "give_up", reason: "not_retryable" });
      }),
    );
  });
});
