/**
 * The endpoint page's charts, computed in the browser from a bounded page of deliveries (the API
 * has no aggregate for them): deliveries per time bucket by outcome, and attempt latency percentiles.
 */
export type Outcome = "succeeded" | "retrying" | "failed";

export const OUTCOMES: readonly Outcome[] = ["succeeded", "retrying", "failed"];

export interface DeliveryPoint {
  readonly scheduledAt: number;
  readonly status: "PENDING" | "PAUSED" | "SUCCEEDED" | "FAILED";
  readonly attempts: readonly { readonly startedAt: number; readonly durationMs: number }[];
}

export interface OutcomeBucket {
  readonly start: number;
  readonly counts: Readonly<Record<Outcome, number>>;
}

export interface LatencyBucket {
  readonly start: number;
  /** Attempts started in the bucket; the percentiles are null without any. */
  readonly attempts: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** A delivery that has not finished is retrying (or waiting for its first attempt, or paused). */
export function outcomeOf(status: DeliveryPoint["status"]): Outcome {
  if (status === "SUCCEEDED") return "succeeded";
  if (status === "FAILED") return "failed";
  return "retrying";
}

/** `count` equal buckets covering [since, until), each delivery in the one of its scheduled time. */
export function outcomesOverTime(
  deliveries: readonly DeliveryPoint[],
  since: number,
  until: number,
  count: number,
): OutcomeBucket[] {
  const width = (until - since) / count;
  const buckets = Array.from({ length: count }, (_, index) => ({
    start: since + index * width,
    counts: { succeeded: 0, retrying: 0, failed: 0 },
  }));
  for (const delivery of deliveries) {
    const bucket = buckets[indexOf(delivery.scheduledAt, since, width, count)];
    if (bucket) bucket.counts[outcomeOf(delivery.status)] += 1;
  }
  return buckets;
}

/** p50/p95/p99 of attempt durations per bucket of start time (nearest-rank percentiles). */
export function latencyOverTime(
  deliveries: readonly DeliveryPoint[],
  since: number,
  until: number,
  count: number,
): LatencyBucket[] {
  const width = (until - since) / count;
  const durations: number[][] = Array.from({ length: count }, () => []);
  for (const delivery of deliveries) {
    for (const attempt of delivery.attempts)
      durations[indexOf(attempt.startedAt, since, width, count)]?.push(attempt.durationMs);
  }
  return durations.map((values, index) => {
    const sorted = values.toSorted((a, b) => a - b);
    return {
      start: since + index * width,
      attempts: sorted.length,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
    };
  });
}

/** Nearest rank: the smallest value with at least p% of the values at or below it. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

/** -1 outside the window, so the caller's lookup finds no bucket. */
function indexOf(at: number, since: number, width: number, count: number): number {
  const index = Math.floor((at - since) / width);
  return index >= 0 && index < count ? index : -1;
}
