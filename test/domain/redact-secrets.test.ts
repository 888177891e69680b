import { describe, expect, it } from "vitest";
import { REDACTED, redactSecrets } from "../../src/domain/redact-secrets.js";

describe("redactSecrets", () => {
  it("replaces apiKey and signingSecret at any depth and keeps everything else", () => {
    const data = {
      webhookId: "w",
      apiKey: "v1.a.b.c",
      nested: [{ signingSecret: "v1.d.e.f", url: "https://x" }],
      retries: 3,
      none: null,
    };
    expect(redactSecrets(data)).toEqual({
      webhookId: "w",
      apiKey: REDACTED,
      nested: [{ signingSecret: REDACTED, url: "https://x" }],
      retries: 3,
      none: null,
    });
    // A copy: the event itself is untouched.
    expect(data.apiKey).toBe("v1.a.b.c");
  });
});
