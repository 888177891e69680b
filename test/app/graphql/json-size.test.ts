import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonBytesOver } from "../../../src/app/graphql/json-size.js";

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");

describe("jsonBytesOver", () => {
  it("agrees with JSON.stringify on either side of the limit", () => {
    const value = fc.oneof(
      fc.jsonValue(),
      fc.anything({
        withNullPrototype: false,
        withBigInt: false,
        withMap: false,
        withSet: false,
        withTypedArray: false,
      }),
    );
    fc.assert(
      fc.property(value, fc.nat(2_000), (json, limit) => {
        const bytes = bytesOf(json);
        expect(jsonBytesOver(json, limit)).toEqual(bytes > limit ? expect.any(Number) : undefined);
        expect(jsonBytesOver(json, bytes - 1)).toBe(bytes);
        expect(jsonBytesOver(json, bytes)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it("stops counting once past the limit, and walks JSON nested deeper than the call stack", () => {
    let deep: unknown = "leaf";
    for (let level = 0; level < 100_000; level++) deep = { n: deep };
    expect(jsonBytesOver(deep, 10)).toBeLessThan(30);
    expect(jsonBytesOver(deep, 10_000_000)).toBeUndefined();
  });
});
