import { describe, expect, it } from "vitest";
import type { WebhookEndpointState } from "../../src/domain/webhook-endpoint.js";
import type { WebhookSubscriptionEvent } from "../../src/domain/webhook-events.js";
import { type WebhookSubscriptionCommand, webhookSubscriptionDecider } from "../../src/domain/webhook-subscription.js";
import { admin, deciderSpec, owner, stranger } from "../support/decider-spec.js";

const webhookId = "8fafd82a-ca5e-4495-9ad4-d28c4ea6adf0";
const subscriptionId = "0b1c8f0e-3f5e-4d7a-9c55-2f7f3c1b2a10";
const given = deciderSpec(webhookSubscriptionDecider);

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
const create = {
  type: "CreateWebhookSubscription",
  subscriptionId,
  webhookId,
  eventType: "asset-link",
  actions: ["create", "delete"],
  collectionId: "1:EVM:0x6BCA6DE2DBDC4E0D41F7273011785EA16BA47182",
  now: 2,
  caller: owner,
  endpoint,
} satisfies WebhookSubscriptionCommand;
const remove = {
  type: "DeleteWebhookSubscription",
  subscriptionId,
  webhookId,
  caller: owner,
} satisfies WebhookSubscriptionCommand;
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
const deleted: WebhookSubscriptionEvent = { type: "WebhookSubscriptionDeleted", data: { subscriptionId, webhookId } };

describe("webhook subscription: decide", () => {
  it("subscribes the caller's endpoint, with the collection id in lower case", () => {
    given().when(create).thenDecides(created);
  });

  it("refuses to subscribe twice under one id", () => {
    given(created).when(create).thenRefuses("CONFLICT");
  });

  it("subscribes within the endpoint's quota, admins too; a stranger learns nothing of it", () => {
    const full = { ...create, quota: { used: 2, limit: 2 } };
    given()
      .when({ ...create, quota: { used: 1, limit: 2 } })
      .thenDecides(created);
    given()
      .when(full)
      .thenRefuses("QUOTA_EXCEEDED", { message: expect.stringContaining("at most 2 webhook subscriptions") });
    given()
      .when({ ...full, caller: admin })
      .thenRefuses("QUOTA_EXCEEDED");
    given()
      .when({ ...full, caller: stranger })
      .thenRefuses("NOT_FOUND");
  });

  it("subscribes on the owner's behalf when an admin asks", () => {
    given()
      .when({ ...create, caller: admin })
      .thenDecides(created);
  });

  it.each([
    [{ eventType: "" }, "type"],
    [{ eventType: "x".repeat(65) }, "type"],
    [{ actions: [] }, "actions"],
    [{ actions: ["create", "create"] }, "actions"],
    [{ actions: [" "] }, "actions"],
    [{ collectionId: "evm-0x6bca" }, "collectionId"],
  ])("refuses %j, naming the field", (change, field) => {
    given()
      .when({ ...create, ...change })
      .thenRefuses("INVALID", { field });
  });

  it("answers NOT_FOUND when the endpoint is missing, deleted or someone else's", () => {
    given()
      .when({ ...create, endpoint: undefined })
      .thenRefuses("NOT_FOUND");
    given()
      .when({ ...create, endpoint: { ...endpoint, deleted: true } })
      .thenRefuses("NOT_FOUND");
    given()
      .when({ ...create, caller: stranger })
      .thenRefuses("NOT_FOUND");
  });

  it("deletes a subscription only through its own endpoint", () => {
    given(created)
      .when({ ...remove, webhookId: "another" })
      .thenRefuses("NOT_FOUND")
      .when({ ...remove, caller: stranger })
      .thenRefuses("NOT_FOUND")
      .when(remove)
      .thenDecides(deleted)
      .when(remove)
      .thenRefuses("NOT_FOUND");
  });

  it("lets an admin delete anyone's subscription", () => {
    given(created)
      .when({ ...remove, caller: admin })
      .thenDecides(deleted);
  });
});
