import { describe, expect, it } from "vitest";
import {
  type DeliveryPoint,
  latencyOverTime,
  outcomeOf,
  outcomesOverTime,
  percentile,
} from "../../../src/app/console/client/delivery-stats.js";

const delivery = (scheduledAt: number, status: DeliveryPoint["status"], durations: number[] = []): DeliveryPoint => ({
  scheduledAt,
  status,
  attempts: durations.map((durationMs, index) => ({ startedAt: scheduledAt + index, durationMs })),
});

describe("delivery stats for the console's charts", () => {
  it("counts unfinished deliveries as retrying", () => {
    expect([outcomeOf("SUCCEEDED"), outcomeOf("FAILED"), outcomeOf("PENDING"), outcomeOf("PAUSED")]).toEqual([
      "succeeded",
      "failed",
      "retrying",
      "retrying",
    ]);
  });

  it("puts each delivery in the bucket of its scheduled time and leaves out those outside the window", () => {
    const buckets = outcomesOverTime(
      [
        delivery(0, "SUCCEEDED"),
        delivery(9, "FAILED"),
        delivery(10, "PENDING"),
        delivery(39, "SUCCEEDED"),
        delivery(40, "FAILED"),
        delivery(-1, "FAILED"),
      ],
      0,
      40,
      4,
    );
    expect(buckets).toEqual([
      { start: 0, counts: { succeeded: 1, retrying: 0, failed: 1 } },
      { start: 10, counts: { succeeded: 0, retrying: 1, failed: 0 } },
      { start: 20, counts: { succeeded: 0, retrying: 0, failed: 0 } },
      { start: 30, counts: { succeeded: 1, retrying: 0, failed: 0 } },
    ]);
  });

  it("takes nearest-rank percentiles of attempt durations per bucket of start time", () => {
    expect(percentile([], 50)).toBeNull();
    const hundred = Array.from({ length: 100 }, (_, index) => index + 1);
    expect([percentile(hundred, 50), percentile(hundred, 95), percentile(hundred, 99)]).toEqual([50, 95, 99]);
    expect(percentile([7], 99)).toBe(7);

    // Each delivery's attempts start 1 ms apart, all within the first bucket.
    const buckets = latencyOverTime([delivery(0, "FAILED", [30, 10, 20]), delivery(1, "SUCCEEDED", [40])], 0, 20, 2);
    expect(buckets).toEqual([
      { start: 0, attempts: 4, p50: 20, p95: 40, p99: 40 },
      { start: 10, attempts: 0, p50: null, p95: null, p99: null },
    ]);
  });
});
