import { describe, expect, it } from "vitest";
import type { Caller } from "../../src/domain/caller.js";
import {
  decideWebhookEndpoint,
  evolveWebhookEndpoint,
  type WebhookEndpointCommand,
  type WebhookEndpointState,
} from "../../src/domain/webhook-endpoint.js";
import type { WebhookEndpointEvent } from "../../src/domain/webhook-events.js";

const owner: Caller = { address: "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A", role: "subscriber" };
const stranger: Caller = { address: "0x1563915e194D8CfBA1943570603F7606A3115508", role: "subscriber" };
const admin: Caller = { address: "0x5CbDd86a2FA8Dc4bDdd8a8f69dBa48572EeC07FB", role: "admin" };
const auditor: Caller = { address: "0x7564105E977516C53bE337314c7E53838967bDaC", role: "auditor" };
const webhookId = "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0";
const rules = { allowPrivateTargets: false };

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
const create: WebhookEndpointCommand = {
  kind: "CreateWebhookEndpoint",
  webhookId,
  url: "https://example.com/webhook",
  apiKey: "v1.a",
  signingSecret: "v1.b",
  now: 1,
};

/** given these past events, when the caller sends the command, then … */
function given(...events: WebhookEndpointEvent[]) {
  const state = events.reduce<WebhookEndpointState>(evolveWebhookEndpoint, undefined);
  return {
    when: (command: WebhookEndpointCommand, caller: Caller = owner) =>
      decideWebhookEndpoint(command, state, caller, rules),
  };
}

describe("webhook endpoint: decide", () => {
  it("creates an endpoint owned by the caller, with 5 retries by default", () => {
    expect(given().when(create)).toEqual({ ok: true, events: [created] });
  });

  it.each([
    [{ retries: 21 }, "retries"],
    [{ retries: -1 }, "retries"],
    [{ retries: 1.5 }, "retries"],
    [{ url: "http://10.0.0.1/hook" }, "url"],
    [{ url: "https://example.com/\u0007" }, "url"],
  ])("refuses a creation with %j, naming the field", (change, field) => {
    expect(given().when({ ...create, ...change })).toEqual({
      ok: false,
      error: { code: "INVALID", field, message: expect.any(String) },
    });
  });

  it("accepts retries from 0 to 20", () => {
    for (const retries of [0, 20]) expect(given().when({ ...create, retries }).ok).toBe(true);
  });

  it("creates within the caller's quota and refuses beyond it, bad input first", () => {
    expect(given().when({ ...create, quota: { used: 2, limit: 3 } })).toEqual({ ok: true, events: [created] });
    expect(given().when({ ...create, quota: { used: 3, limit: 3 } })).toMatchObject({
      ok: false,
      error: { code: "QUOTA_EXCEEDED", message: expect.stringContaining("at most 3 webhook endpoints") },
    });
    expect(given().when({ ...create, url: "ftp://x", quota: { used: 3, limit: 3 } })).toMatchObject({
      ok: false,
      error: { code: "INVALID", field: "url" },
    });
  });

  it("refuses to create an endpoint twice", () => {
    expect(given(created).when(create)).toMatchObject({ ok: false, error: { code: "CONFLICT" } });
  });

  it("does not let auditors create", () => {
    expect(given().when(create, auditor)).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  });

  it("updates only what changes, and nothing when nothing does", () => {
    expect(
      given(created).when({ kind: "UpdateWebhookEndpoint", webhookId, url: "https://example.com/webhook", retries: 2 }),
    ).toEqual({
      ok: true,
      events: [{ type: "WebhookEndpointUpdated", data: { webhookId, retries: 2 } }],
    });
    expect(given(created).when({ kind: "UpdateWebhookEndpoint", webhookId, retries: 5 })).toEqual({
      ok: true,
      events: [],
    });
  });

  it("sets, changes and removes a rate limit; null removes it, absent keeps it", () => {
    const limited: WebhookEndpointEvent = {
      type: "WebhookEndpointCreated",
      data: { ...created.data, rateLimit: 10 } as typeof created.data,
    };
    expect(given().when({ ...create, rateLimit: 10 })).toEqual({ ok: true, events: [limited] });
    const update = { kind: "UpdateWebhookEndpoint", webhookId } as const;
    expect(given(limited).when({ ...update, rateLimit: 20 })).toEqual({
      ok: true,
      events: [{ type: "WebhookEndpointUpdated", data: { webhookId, rateLimit: 20 } }],
    });
    expect(given(limited).when({ ...update, rateLimit: null })).toEqual({
      ok: true,
      events: [{ type: "WebhookEndpointUpdated", data: { webhookId, rateLimit: null } }],
    });
    expect(given(limited).when({ ...update, retries: 1 })).toEqual({
      ok: true,
      events: [{ type: "WebhookEndpointUpdated", data: { webhookId, retries: 1 } }],
    });
    expect(given(limited).when({ ...update, rateLimit: 10 })).toEqual({ ok: true, events: [] });
    expect(given(created).when({ ...update, rateLimit: null })).toEqual({ ok: true, events: [] });
  });

  it("folds the rate limit: updates replace it, null removes it", () => {
    const fold = (...events: WebhookEndpointEvent[]) =>
      events.reduce<WebhookEndpointState>(evolveWebhookEndpoint, undefined)?.rateLimit;
    const limited: WebhookEndpointEvent = {
      type: "WebhookEndpointCreated",
      data: { ...created.data, rateLimit: 10 } as typeof created.data,
    };
    expect(fold(created)).toBeUndefined();
    expect(fold(limited)).toBe(10);
    expect(fold(limited, { type: "WebhookEndpointUpdated", data: { webhookId, retries: 2 } })).toBe(10);
    expect(fold(limited, { type: "WebhookEndpointUpdated", data: { webhookId, rateLimit: 3 } })).toBe(3);
    expect(fold(limited, { type: "WebhookEndpointUpdated", data: { webhookId, rateLimit: null } })).toBeUndefined();
  });

  it.each([0, 10_001, 2.5])("refuses a rate limit of %s on creation and update, naming the field", (rateLimit) => {
    const refused = { ok: false, error: { code: "INVALID", field: "rateLimit", message: expect.any(String) } };
    expect(given().when({ ...create, rateLimit })).toEqual(refused);
    expect(given(created).when({ kind: "UpdateWebhookEndpoint", webhookId, rateLimit })).toEqual(refused);
  });

  it("pauses and resumes idempotently", () => {
    const pause = { kind: "PauseWebhookEndpoint", webhookId } as const;
    const paused: WebhookEndpointEvent = { type: "WebhookEndpointPaused", data: { webhookId } };
    expect(given(created).when(pause)).toEqual({ ok: true, events: [paused] });
    expect(given(created, paused).when(pause)).toEqual({ ok: true, events: [] });
    expect(given(created, paused).when({ kind: "ResumeWebhookEndpoint", webhookId, now: 5 })).toEqual({
      ok: true,
      events: [{ type: "WebhookEndpointResumed", data: { webhookId, at: 5 } }],
    });
    expect(given(created).when({ kind: "ResumeWebhookEndpoint", webhookId, now: 5 })).toEqual({ ok: true, events: [] });
  });

  it("rotates the API key and the signing secret together", () => {
    expect(
      given(created).when({ kind: "RotateWebhookEndpointApiKey", webhookId, apiKey: "v1.c", signingSecret: "v1.d" }),
    ).toEqual({
      ok: true,
      events: [{ type: "WebhookEndpointApiKeyRotated", data: { webhookId, apiKey: "v1.c", signingSecret: "v1.d" } }],
    });
  });

  it("answers NOT_FOUND for a missing, deleted or someone else's endpoint", () => {
    const deleted: WebhookEndpointEvent = { type: "WebhookEndpointDeleted", data: { webhookId } };
    const remove = { kind: "DeleteWebhookEndpoint", webhookId } as const;
    expect(given().when(remove)).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
    expect(given(created, deleted).when(remove)).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
    expect(given(created).when(remove, stranger)).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
  });

  it("lets admins change anyone's endpoint, and auditors see but not change it", () => {
    const remove = { kind: "DeleteWebhookEndpoint", webhookId } as const;
    expect(given(created).when(remove, admin)).toEqual({
      ok: true,
      events: [{ type: "WebhookEndpointDeleted", data: { webhookId } }],
    });
    expect(given(created).when(remove, auditor)).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  });
});

describe("webhook endpoint: evolve", () => {
  it("folds the whole life of an endpoint", () => {
    const state = [
      created,
      { type: "WebhookEndpointUpdated", data: { webhookId, url: "https://example.org/" } },
      { type: "WebhookEndpointApiKeyRotated", data: { webhookId, apiKey: "v1.c", signingSecret: "v1.d" } },
      { type: "WebhookEndpointPaused", data: { webhookId } },
    ].reduce<WebhookEndpointState>(
      (current, event) => evolveWebhookEndpoint(current, event as WebhookEndpointEvent),
      undefined,
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
