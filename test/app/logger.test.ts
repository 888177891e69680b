import { PassThrough } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { createLogger, logFormat, prettyDestination } from "../../src/app/logger.js";

describe("logFormat", () => {
  it("is pretty on a terminal and JSON on a pipe or file", () => {
    expect(logFormat(undefined, true)).toBe("pretty");
    expect(logFormat(undefined, false)).toBe("json");
  });

  it("follows LOG_FORMAT wherever stdout goes", () => {
    expect(logFormat("json", true)).toBe("json");
    expect(logFormat("pretty", false)).toBe("pretty");
  });
});

describe("prettyDestination", () => {
  function prettyLogger(): { logger: ReturnType<typeof createLogger>; output: () => string } {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.setEncoding("utf8").on("data", (chunk: string) => chunks.push(chunk));
    // Colours follow the terminal (NO_COLOR, FORCE_COLOR); the words are what is asserted.
    return {
      logger: createLogger("info", prettyDestination(out)),
      output: () => stripVTControlCharacters(chunks.join("")),
    };
  }

  it("writes one readable line per entry, not JSON", () => {
    const { logger, output } = prettyLogger();
    logger.info({ endpointId: "ep-1" }, "endpoint created");
    const [first = ""] = output().split("\n");
    expect(first).toMatch(/INFO.*endpoint created/);
    expect(() => JSON.parse(first)).toThrow();
    expect(first).toContain('"endpointId":"ep-1"');
  });

  it("still redacts secrets", () => {
    const { logger, output } = prettyLogger();
    logger.info(
      {
        signingSecret: "whsec_pretty",
        endpoint: { apiKey: "key_pretty" },
        req: { headers: { authorization: "Bearer t" } },
      },
      "secrets",
    );
    expect(output()).toContain("[redacted]");
    expect(output()).not.toMatch(/whsec_pretty|key_pretty|Bearer t/);
  });
});
