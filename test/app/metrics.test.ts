import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "../../src/app/metrics.js";

/** A registry on a clock the test moves, with gauges that count their reads. */
function setup(cacheMs: number) {
  let now = 1_000_000;
  const metrics = new MetricsRegistry(() => now);
  const reads = { cached: 0, uncached: 0 };
  let fail = false;
  metrics.gauge(
    "cached_gauge",
    "read from storage",
    async () => {
      reads.cached++;
      if (fail) throw new Error("database is down");
      return [{ value: reads.cached }];
    },
    { cacheMs },
  );
  metrics.gauge("uncached_gauge", "read from memory", () => [{ value: ++reads.uncached }]);
  return {
    metrics,
    reads,
    advance: (ms: number) => {
      now += ms;
    },
    failReads: (value: boolean) => {
      fail = value;
    },
  };
}

describe("MetricsRegistry cached gauges", () => {
  it("serves a burst of 50 scrapes, at once and one after another, from one read", async () => {
    const { metrics, reads } = setup(5000);
    const concurrent = await Promise.all(Array.from({ length: 50 }, () => metrics.render()));
    for (let i = 0; i < 50; i++) await metrics.render();
    expect(reads.cached).toBe(1);
    expect(concurrent.every((text) => text.includes("\ncached_gauge 1\n"))).toBe(true);
    // A gauge without a cache is read on every scrape, as before.
    expect(reads.uncached).toBe(100);
  });

  it("reads again once the cached read is older than its time", async () => {
    const { metrics, reads, advance } = setup(5000);
    await metrics.render();
    advance(4999);
    expect(await metrics.render()).toContain("\ncached_gauge 1\n");
    advance(1);
    expect(await metrics.render()).toContain("\ncached_gauge 2\n");
    expect(reads.cached).toBe(2);
  });

  it("does not keep a failed read: the next scrape tries again", async () => {
    const { metrics, reads, failReads } = setup(5000);
    failReads(true);
    expect(await metrics.render()).toContain("# cached_gauge unavailable: Error");
    failReads(false);
    expect(await metrics.render()).toContain("\ncached_gauge 2\n");
    expect(reads.cached).toBe(2);
  });
});
