import { describe, expect, it } from "vitest";
import type { Caller } from "../../src/domain/caller.js";
import type { WebhookEndpointState } from "../../src/domain/webhook-endpoint.js";
import type { WebhookSubscriptionEvent } from "../../src/domain/webhook-events.js";
import {
  decideWebhookSubscription,
  evolveWebhookSubscription,
  type WebhookSubscriptionCommand,
  type WebhookSubscriptionState,
} from "../../src/domain/webhook-subscription.js";

const owner: Caller = { address: "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A", role: "subscriber" };
const stranger: Caller = { address: "0x1563915e194D8CfBA1943570603F7606A3115508", role: "subscriber" };
const admin: Caller = { address: "0x5CbDd86a2FA8Dc4bDdd8a8f69dBa48572EeC07FB", role: "admin" };
const webhookId = "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0";
const subscriptionId = "0b1c8f0e-3f5e-4d7a-9c55-2f7f3c1b2a10";
const endpoint: WebhookEndpointState = {
  webhookId,
  subscriber: owner.address,
  url: "https://example.com/webhook",
  retries: 5,
  rateLimit: undefined,
  apiKey: "v1.a",
  signingSecret: "v1.b",
  createdAt: 1,
  paused: false,
  deleted: false,
  failingSince: undefined,
  disabledReason: undefined,
  healthFrom: 1,
};
const create: WebhookSubscriptionCommand = {
  kind: "CreateWebhookSubscription",
  subscriptionId,
  webhookId,
  type: "asset-link",
  actions: ["create", "delete"],
  collectionId: "1:EVM:0x6BCA6DE2DBDC4E0D41F7273011785EA16BA47182",
  now: 2,
};
const created: WebhookSubscriptionEvent = {
  type: "WebhookSubscriptionCreated",
  data: {
    subscriptionId,
    webhookId,
    subscriber: owner.address,
    type: "asset-link",
    actions: ["create", "delete"],
    collectionId: "1:evm:0x6bca6de2dbdc4e0d41f7273011785ea16ba47182",
    createdAt: 2,
  },
};

/** given the endpoint and the subscription's past events, when the caller sends the command, then … */
function given(endpointState: WebhookEndpointState, ...events: WebhookSubscriptionEvent[]) {
  const subscription = events.reduce<WebhookSubscriptionState>(evolveWebhookSubscription, undefined);
  return {
    when: (command: WebhookSubscriptionCommand, caller: Caller = owner) =>
      decideWebhookSubscription(command, { subscription, endpoint: endpointState }, caller),
  };
}

describe("webhook subscription: decide", () => {
  it("subscribes the caller's endpoint, with the collection id in lower case", () => {
    expect(given(endpoint).when(create)).toEqual({ ok: true, events: [created] });
  });

  it("subscribes within the endpoint's quota, admins too; a stranger learns nothing of it", () => {
    const full = { ...create, quota: { used: 2, limit: 2 } };
    expect(given(endpoint).when({ ...create, quota: { used: 1, limit: 2 } })).toEqual({ ok: true, events: [created] });
    expect(given(endpoint).when(full)).toMatchObject({
      ok: false,
      error: { code: "QUOTA_EXCEEDED", message: expect.stringContaining("at most 2 webhook subscriptions") },
    });
    expect(given(endpoint).when(full, admin)).toMatchObject({ ok: false, error: { code: "QUOTA_EXCEEDED" } });
    expect(given(endpoint).when(full, stranger)).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
  });

  it("subscribes on the owner's behalf when an admin asks", () => {
    expect(given(endpoint).when(create, admin)).toEqual({ ok: true, events: [created] });
  });

  it.each([
    [{ type: "" }, "type"],
    [{ type: "x".repeat(65) }, "type"],
    [{ actions: [] }, "actions"],
    [{ actions: ["create", "create"] }, "actions"],
    [{ actions: [" "] }, "actions"],
    [{ collectionId: "evm-0x6bca" }, "collectionId"],
  ])("refuses %j, naming the field", (change, field) => {
    expect(given(endpoint).when({ ...create, ...change })).toMatchObject({
      ok: false,
      error: { code: "INVALID", field },
    });
  });

  it("answers NOT_FOUND when the endpoint is missing, deleted or someone else's", () => {
    expect(given(undefined).when(create)).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
    expect(given({ ...endpoint, deleted: true }).when(create)).toMatchObject({
      ok: false,
      error: { code: "NOT_FOUND" },
    });
    expect(given(endpoint).when(create, stranger)).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
  });

  it("deletes a subscription only through its own endpoint", () => {
    const remove: WebhookSubscriptionCommand = { kind: "DeleteWebhookSubscription", subscriptionId, webhookId };
    expect(given(endpoint, created).when(remove)).toEqual({
      ok: true,
      events: [{ type: "WebhookSubscriptionDeleted", data: { subscriptionId, webhookId } }],
    });
    expect(given(endpoint, created).when({ ...remove, webhookId: "another" })).toMatchObject({
      ok: false,
      error: { code: "NOT_FOUND" },
    });
    expect(given(endpoint, created).when(remove, stranger)).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
    expect(
      given(endpoint, created, { type: "WebhookSubscriptionDeleted", data: { subscriptionId, webhookId } }).when(
        remove,
      ),
    ).toMatchObject({
      ok: false,
      error: { code: "NOT_FOUND" },
    });
  });
});
