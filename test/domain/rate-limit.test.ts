import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkRateLimit, MAX_RATE_LIMIT, takeSendSlots } from "../../src/domain/rate-limit.js";

/** Takes slots at each (time, wanted) in turn, as workers do; returns the time of every attempt granted. */
function run(rateLimit: number, requests: readonly { at: number; wanted: number }[]): number[] {
  let tat: number | undefined;
  const starts: number[] = [];
  for (const { at, wanted } of requests) {
    const slots = takeSendSlots(rateLimit, tat, wanted, at);
    expect(slots.granted).toBeLessThanOrEqual(wanted);
    expect(slots.nextSlotAtMs).toBeGreaterThanOrEqual(at);
    tat = slots.theoreticalArrivalMs;
    for (let i = 0; i < slots.granted; i++) starts.push(at);
  }
  return starts;
}

describe("rate limit: send slots", () => {
  it("spaces attempts 1/rateLimit apart at low limits", () => {
    // 5 a second: one at once, then one every 200 ms, however many are wanted.
    expect(takeSendSlots(5, undefined, 10, 1000)).toEqual({
      granted: 1,
      theoreticalArrivalMs: 1200,
      nextSlotAtMs: 1200,
    });
    expect(takeSendSlots(5, 1200, 10, 1100)).toMatchObject({ granted: 0, nextSlotAtMs: 1200 });
    expect(takeSendSlots(5, 1200, 10, 1200)).toEqual({ granted: 1, theoreticalArrivalMs: 1400, nextSlotAtMs: 1400 });
  });

  it("allows a tenth of a second's worth at once at high limits", () => {
    const first = takeSendSlots(1000, undefined, 500, 0);
    expect(first.granted).toBe(100);
    expect(first.nextSlotAtMs).toBe(1);
    expect(takeSendSlots(1000, first.theoreticalArrivalMs, 500, 50).granted).toBe(50);
  });

  it("does not save up slots while idle beyond the burst", () => {
    expect(takeSendSlots(5, 1200, 10, 60_000).granted).toBe(1);
    expect(takeSendSlots(100, 1200, 100, 60_000).granted).toBe(10);
  });

  it("never grants more than burst + w × rateLimit in any window of w ms", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 400 }), wanted: fc.integer({ min: 0, max: 50 }) }), {
          maxLength: 200,
        }),
        (rateLimit, steps) => {
          let at = 0;
          const requests = steps.map(({ gap, wanted }) => {
            at += gap;
            return { at, wanted };
          });
          const starts = run(rateLimit, requests);
          const burst = Math.max(1, Math.floor(rateLimit / 10));
          const tooMany: string[] = [];
          for (let i = 0; i < starts.length; i++) {
            for (let j = i; j < starts.length; j++) {
              if (j - i + 1 > burst + ((starts[j]! - starts[i]!) * rateLimit) / 1000 + 1e-6)
                tooMany.push(`${j - i + 1} in [${starts[i]}, ${starts[j]}]`);
            }
          }
          expect(tooMany).toEqual([]);
        },
      ),
    );
  });

  it("grants every slot the limit allows when callers always want more", () => {
    // Asking every 10 ms for 10 s at 50 a second: 500 slots, plus the first burst.
    const requests = Array.from({ length: 1001 }, (_, i) => ({ at: i * 10, wanted: 1000 }));
    expect(run(50, requests)).toHaveLength(50 * 10 + 5);
  });
});

describe("rate limit: validation", () => {
  it.each([1, 10, MAX_RATE_LIMIT, null])("accepts %s", (value) => {
    expect(checkRateLimit(value)).toEqual({ ok: true, value });
  });

  it.each([0, -1, 1.5, MAX_RATE_LIMIT + 1, Number.NaN])("refuses %s, naming the field", (value) => {
    expect(checkRateLimit(value)).toMatchObject({
      ok: false,
      refusal: { ok: false, error: { code: "INVALID", field: "rateLimit" } },
    });
  });
});
