import { describe, expect, it } from "vitest";
import { type WebhookEndpointCommand, webhookEndpointDecider } from "../../src/domain/webhook-endpoint.js";
import type { WebhookEndpointEvent } from "../../src/domain/webhook-events.js";
import { admin, auditor, deciderSpec, owner, stranger } from "../support/decider-spec.js";

const webhookId = "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0";
const given = deciderSpec(webhookEndpointDecider({ allowPrivateTargets: false }));

const created: WebhookEndpointEvent = {
  type: "WebhookEndpointCreated",
  data: {
    webhookId,
    subscriber: owner.address,
    url: "https://example.com/webhook",
    retries: 5,
    apiKey: "v1.a",
    signingSecret: "v1.b",
    createdAt: 1,
  },
};
const limited: WebhookEndpointEvent = {
  type: "WebhookEndpointCreated",
  data: { ...created.data, rateLimit: 10 } as typeof created.data,
};
const create = {
  type: "CreateWebhookEndpoint",
  webhookId,
  url: "https://example.com/webhook",
  apiKey: "v1.a",
  signingSecret: "v1.b",
  now: 1,
  caller: owner,
} satisfies WebhookEndpointCommand;
const update = { type: "UpdateWebhookEndpoint", webhookId, caller: owner } satisfies WebhookEndpointCommand;
const pause = { type: "PauseWebhookEndpoint", webhookId, caller: owner } satisfies WebhookEndpointCommand;
const resume = { type: "ResumeWebhookEndpoint", webhookId, now: 5, caller: owner } satisfies WebhookEndpointCommand;
const remove = { type: "DeleteWebhookEndpoint", webhookId, caller: owner } satisfies WebhookEndpointCommand;
const updated = (data: Omit<Extract<WebhookEndpointEvent, { type: "WebhookEndpointUpdated" }>["data"], "webhookId">) =>
  ({ type: "WebhookEndpointUpdated", data: { webhookId, ...data } }) satisfies WebhookEndpointEvent;

describe("webhook endpoint: decide", () => {
  it("creates an endpoint owned by the caller, with 5 retries by default", () => {
    given().when(create).thenDecides(created);
  });

  it.each([
    [{ retries: 21 }, "retries"],
    [{ retries: -1 }, "retries"],
    [{ retries: 1.5 }, "retries"],
    [{ url: "http://10.0.0.1/hook" }, "url"],
    [{ url: "https://example.com/\u0007" }, "url"],
  ])("refuses a creation with %j, naming the field", (change, field) => {
    given()
      .when({ ...create, ...change })
      .thenRefuses("INVALID", { field });
  });

  it("accepts retries from 0 to 20", () => {
    for (const retries of [0, 20]) {
      given()
        .when({ ...create, retries })
        .thenDecides({ ...created, data: { ...created.data, retries } });
    }
  });

  it("creates within the caller's quota and refuses beyond it, bad input first", () => {
    given()
      .when({ ...create, quota: { used: 2, limit: 3 } })
      .thenDecides(created);
    given()
      .when({ ...create, quota: { used: 3, limit: 3 } })
      .thenRefuses("QUOTA_EXCEEDED", { message: expect.stringContaining("at most 3 webhook endpoints") });
    given()
      .when({ ...create, url: "ftp://x", quota: { used: 3, limit: 3 } })
      .thenRefuses("INVALID", { field: "url" });
  });

  it("refuses to create an endpoint twice", () => {
    given(created).when(create).thenRefuses("CONFLICT");
  });

  it("does not let auditors create", () => {
    given()
      .when({ ...create, caller: auditor })
      .thenRefuses("FORBIDDEN");
  });

  it("updates only what changes, and nothing when nothing does", () => {
    given(created)
      .when({ ...update, url: "https://example.com/webhook", retries: 2 })
      .thenDecides(updated({ retries: 2 }));
    given(created)
      .when({ ...update, retries: 5 })
      .thenDecides();
  });

  it("sets, changes and removes a rate limit; null removes it, absent keeps it", () => {
    given()
      .when({ ...create, rateLimit: 10 })
      .thenDecides(limited);
    given(limited)
      .when({ ...update, rateLimit: 20 })
      .thenDecides(updated({ rateLimit: 20 }));
    given(limited)
      .when({ ...update, rateLimit: null })
      .thenDecides(updated({ rateLimit: null }));
    given(limited)
      .when({ ...update, retries: 1 })
      .thenDecides(updated({ retries: 1 }));
    given(limited)
      .when({ ...update, rateLimit: 10 })
      .thenDecides();
    given(created)
      .when({ ...update, rateLimit: null })
      .thenDecides();
  });

  it("folds the rate limit: updates replace it, null removes it", () => {
    expect(given(created).state?.rateLimit).toBeUndefined();
    expect(given(limited).state?.rateLimit).toBe(10);
    expect(given(limited, updated({ retries: 2 })).state?.rateLimit).toBe(10);
    expect(given(limited, updated({ rateLimit: 3 })).state?.rateLimit).toBe(3);
    expect(given(limited, updated({ rateLimit: null })).state?.rateLimit).toBeUndefined();
  });

  it.each([0, 10_001, 2.5])("refuses a rate limit of %s on creation and update, naming the field", (rateLimit) => {
    given()
      .when({ ...create, rateLimit })
      .thenRefuses("INVALID", { field: "rateLimit" });
    given(created)
      .when({ ...update, rateLimit })
      .thenRefuses("INVALID", { field: "rateLimit" });
  });

  it("pauses and resumes idempotently", () => {
    given(created)
      .when(pause)
      .thenDecides({ type: "WebhookEndpointPaused", data: { webhookId } })
      .when(pause)
      .thenDecides()
      .when(resume)
      .thenDecides({ type: "WebhookEndpointResumed", data: { webhookId, at: 5 } })
      .when(resume)
      .thenDecides();
  });

  it("rotates the API key and the signing secret together", () => {
    given(created)
      .when({ type: "RotateWebhookEndpointApiKey", webhookId, apiKey: "v1.c", signingSecret: "v1.d", caller: owner })
      .thenDecides({
        type: "WebhookEndpointApiKeyRotated",
        data: { webhookId, apiKey: "v1.c", signingSecret: "v1.d" },
      });
  });

  it("answers NOT_FOUND for a missing, deleted or someone else's endpoint", () => {
    given().when(remove).thenRefuses("NOT_FOUND");
    given(created)
      .when(remove)
      .thenDecides({ type: "WebhookEndpointDeleted", data: { webhookId } })
      .when(remove)
      .thenRefuses("NOT_FOUND");
    given(created)
      .when({ ...remove, caller: stranger })
      .thenRefuses("NOT_FOUND");
  });

  it("lets admins change anyone's endpoint, and auditors see but not change it", () => {
    given(created)
      .when({ ...remove, caller: admin })
      .thenDecides({ type: "WebhookEndpointDeleted", data: { webhookId } });
    given(created)
      .when({ ...remove, caller: auditor })
      .thenRefuses("FORBIDDEN");
  });
});

describe("webhook endpoint: evolve", () => {
  it("folds the whole life of an endpoint", () => {
    const { state } = given(
      created,
      updated({ url: "https://example.org/" }),
      { type: "WebhookEndpointApiKeyRotated", data: { webhookId, apiKey: "v1.c", signingSecret: "v1.d" } },
      { type: "WebhookEndpointPaused", data: { webhookId } },
    );
    expect(state).toEqual({
      ...created.data,
      url: "https://example.org/",
      apiKey: "v1.c",
      signingSecret: "v1.d",
      paused: true,
      deleted: false,
      failingSince: undefined,
      disabledReason: undefined,
      healthFrom: created.data.createdAt,
    });
  });
});
