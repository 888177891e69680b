import { describe, expect, it } from "vitest";
import { pingComment } from "../../../src/app/waypoint/sse-stream.js";

describe("pingComment", () => {
  it("writes sse-starlette's keep-alive: `ping - ` and Python's str() of a UTC datetime, microseconds included", () => {
    expect(pingComment(new Date("2026-01-06T12:00:00.123Z"))).toBe("ping - 2026-01-06 12:00:00.123000+00:00");
    expect(pingComment(new Date("2026-11-30T09:05:07.004Z"))).toBe("ping - 2026-11-30 09:05:07.004000+00:00");
  });

  it("leaves the fraction out when it is zero, as Python's str() does", () => {
    expect(pingComment(new Date("2026-01-06T12:00:00.000Z"))).toBe("ping - 2026-01-06 12:00:00+00:00");
  });
});
