import { describe, expect, it } from "vitest";
import { pickEncoding, prefersHtml } from "../../../src/app/web/content-negotiation.js";

describe("prefersHtml", () => {
  it("is true for what browsers send when navigating", () => {
    expect(prefersHtml("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8")).toBe(
      true,
    );
    expect(prefersHtml("text/html")).toBe(true);
  });

  it("is false for GraphQL clients, curl and no header", () => {
    expect(prefersHtml("application/graphql-response+json, application/json")).toBe(false);
    expect(prefersHtml("application/json")).toBe(false);
    expect(prefersHtml("*/*")).toBe(false);
    expect(prefersHtml(undefined)).toBe(false);
  });

  it("weighs text/html against JSON by q, and by order on a tie", () => {
    expect(prefersHtml("application/json;q=0.5, text/html")).toBe(true);
    expect(prefersHtml("text/html;q=0.5, application/json")).toBe(false);
    expect(prefersHtml("text/html, application/json")).toBe(true);
    expect(prefersHtml("application/json, text/html")).toBe(false);
    expect(prefersHtml("text/html;q=0")).toBe(false);
  });
});

describe("pickEncoding", () => {
  it("prefers brotli, then gzip, then none", () => {
    expect(pickEncoding("gzip, deflate, br, zstd")).toBe("br");
    expect(pickEncoding("gzip, deflate")).toBe("gzip");
    expect(pickEncoding("br;q=0, gzip")).toBe("gzip");
    expect(pickEncoding(undefined)).toBe("identity");
    expect(pickEncoding("deflate")).toBe("identity");
  });
});
