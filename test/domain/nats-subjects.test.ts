import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chooseStream, subjectCovers, subjectsOverlap } from "../../src/domain/nats-subjects.js";

describe("subjectCovers", () => {
  it.each([
    ["cloudapi.aries.events.*.*", "cloudapi.aries.events.*.*", true],
    ["cloudapi.aries.events.*.*", "cloudapi.aries.events.acme.*", true],
    ["cloudapi.aries.events.>", "cloudapi.aries.events.*.*", true],
    ["cloudapi.>", "cloudapi.aries.events.*.*", true],
    ["cloudapi.aries.events.*.*", "cloudapi.aries.events.>", false],
    ["cloudapi.aries.events.*.*", "cloudapi.aries.events.*", false],
    ["cloudapi.aries.events.*.*", "cloudapi.aries.events.*.*.*", false],
    ["cloudapi.aries.events.acme.*", "cloudapi.aries.events.*.*", false],
    ["asset-register.transactions", "asset-register.transactions", true],
    ["asset-register.*", "asset-register.transactions", true],
    ["asset-register.transactions", "asset-register.*", false],
    [">", "anything.at.all", true],
  ])("%s covers %s: %s", (filter, subject, expected) => {
    expect(subjectCovers(filter, subject)).toBe(expected);
  });
});

describe("subjectsOverlap", () => {
  it.each([
    ["cloudapi.aries.events.*.*", "cloudapi.aries.events.>", true],
    ["cloudapi.aries.events.*.*", "cloudapi.aries.events.acme.w1", true],
    ["cloudapi.aries.events.*.*", "cloudapi.aries.events.*", false],
    ["cloudapi.aries.state_monitoring.*.*.>", "cloudapi.aries.events.*.*", false],
    ["a.b", "a.c", false],
    ["a.*", "*.b", true],
  ])("%s and %s: %s", (a, b, expected) => {
    expect(subjectsOverlap(a, b)).toBe(expected);
    expect(subjectsOverlap(b, a)).toBe(expected);
  });

  it("given any two patterns where one covers the other, then they overlap", () => {
    const token = fc.constantFrom("a", "b", "*");
    const pattern = fc
      .tuple(fc.array(token, { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([parts, tail]) => [...parts, ...(tail ? [">"] : [])].join("."));
    fc.assert(
      fc.property(pattern, pattern, (a, b) => {
        if (subjectCovers(a, b)) expect(subjectsOverlap(a, b)).toBe(true);
      }),
    );
  });
});

describe("chooseStream", () => {
  const acapy = { name: "cloudapi_aries_events", subjects: ["cloudapi.aries.events.*.*"] };
  const state = { name: "cloudapi_aries_state_monitoring", subjects: ["cloudapi.aries.state_monitoring.*.*.>"] };

  it("given acapy-cloud's stream, then herald attaches to it with the default subject", () => {
    expect(chooseStream([state, acapy], "cloudapi_aries_events", "cloudapi.aries.events.*.*")).toEqual({
      kind: "attach",
      stream: "cloudapi_aries_events",
    });
  });

  it("given a covering stream of another name, then herald attaches to that one rather than create an overlapping one", () => {
    expect(chooseStream([acapy], "HERALD_EVENTS", "cloudapi.aries.events.*.*")).toEqual({
      kind: "attach",
      stream: "cloudapi_aries_events",
    });
  });

  it("given no stream near the subject, then herald creates the configured one", () => {
    expect(chooseStream([state], "cloudapi_aries_events", "cloudapi.aries.events.*.*")).toEqual({
      kind: "create",
      stream: "cloudapi_aries_events",
    });
  });

  it("given herald's old default subject on acapy-cloud's NATS, then it is refused in one line naming the stream and the subject", () => {
    const choice = chooseStream([acapy], "CLOUDAPI_ARIES_EVENTS", "cloudapi.aries.events.>");
    expect(choice.kind).toBe("unusable");
    if (choice.kind === "unusable") {
      expect(choice.reason).toContain("cloudapi_aries_events");
      expect(choice.reason).toContain("cloudapi.aries.events.>");
      expect(choice.reason).not.toContain("\n");
    }
  });

  it("given the configured stream without the subject, then it is refused, not changed", () => {
    const choice = chooseStream(
      [{ name: "ASSET_REGISTER", subjects: ["other.subject"] }],
      "ASSET_REGISTER",
      "asset-register.transactions",
    );
    expect(choice).toMatchObject({
      kind: "unusable",
      reason: expect.stringContaining("ASSET_REGISTER exists without subject asset-register.transactions"),
    });
  });
});
