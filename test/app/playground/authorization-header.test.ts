import { describe, expect, it } from "vitest";
import { hasBearerToken, withBearerToken } from "../../../src/app/playground/client/authorization-header.js";

describe("withBearerToken", () => {
  it("sets authorization and keeps the other headers", () => {
    const headers = withBearerToken('{ "x-request-id": "abc" }', "t1");
    expect(JSON.parse(headers)).toEqual({ "x-request-id": "abc", authorization: "Bearer t1" });
    expect(hasBearerToken(headers, "t1")).toBe(true);
    expect(hasBearerToken(headers, "t2")).toBe(false);
  });

  it("replaces an authorization header whatever its case", () => {
    expect(JSON.parse(withBearerToken('{"Authorization":"Bearer old"}', "new"))).toEqual({
      authorization: "Bearer new",
    });
  });

  it("starts from empty headers, and refuses headers that are not a JSON object", () => {
    expect(JSON.parse(withBearerToken("  ", "t"))).toEqual({ authorization: "Bearer t" });
    expect(() => withBearerToken("{ nope", "t")).toThrow(/not valid JSON/);
    expect(() => withBearerToken("[1]", "t")).toThrow(/JSON object/);
    expect(hasBearerToken("{ nope", "t")).toBe(false);
  });
});
